//! The next labeling batch of a collection pipeline (issue #9): a work order of whole-number
//! counts per arm, chosen so that the bucket's information after the batch is as well conditioned
//! as the current estimates allow.
//!
//! Entry points: [`design_next`] (the `plugin`, `lcb` and `thompson` strategies),
//! [`candidates::select`] (which unlabeled pairs fill each arm's count) and [`uniform_counts`].
//! `overlap design next` and the simulation laboratory (`crate::simulate`) both call these
//! functions, so what the laboratory measures is what production runs.
//!
//! The design. With S the bucket's summed plug-in information now (S = Σ_t g(ŵᵀx_t) x_t x_tᵀ over
//! its n comparisons) and D_r the information one new label of arm r is expected to add, the batch
//! of N labels maximizes λ_min(S + N Σ_r π_r D_r) over mixtures π. Because Σ π_r = 1 this equals
//! λ_min(Σ_r π_r (S/N + D_r)), an ordinary E-optimal problem that the one design engine
//! (`numerics::optimal_design::solve_design`) solves, with the acceptance-adjusted costs and, under
//! `--budget`, the average-cost cap. The strategies differ only in D_r:
//! - `plugin`: D_r = M̂_r, the plug-in per-arm information at ŵ;
//! - `lcb`: D_r = a lower confidence bound on M_r (see [`lcb`]); an arm whose bound vanishes
//!   entirely is unresolved and gets pilot labels instead, so arms with few labels keep being
//!   explored until their information is known to be there (or not);
//! - `thompson`: the mixture averaged over designs solved on posterior draws: each draw takes ŵ_b
//!   from the Laplace posterior N(ŵ, P⁻¹) (P the Hessian of the penalized summed loss) and
//!   resamples each arm's comparisons with replacement (a bootstrap), then recomputes S and every
//!   M̂_r at ŵ_b. Seeded, so reproducible.
//!
//! Fixed parts come first: `⌈γN⌉` labels on the baseline arm (safe exploration), and pilot labels
//! for arms with no data (no M̂ to design with; they are named, never dropped) — the design then
//! places the remaining labels knowing the fixed ones. Counts are rounded by largest remainder and
//! repaired to stay within the budget (`rounding`).
//!
//! Pure: no SQL, no files, no printing; deterministic for given inputs and seed.

pub mod candidates;
pub mod lcb;
mod rounding;

use nalgebra::{Cholesky, DMatrix, DVector};
use rand::SeedableRng;
use rand::seq::IndexedRandom as _;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;
use thiserror::Error;

pub use lcb::LcbOptions;
pub use rounding::round_counts;

use crate::model::dataset::BASELINE;
use crate::numerics::btl::{BtlError, curvature};
use crate::numerics::eigen::{EigenError, is_identified, sym_eigen};
use crate::numerics::moment::{MomentError, SecondMoment};
use crate::numerics::optimal_design::{
    Criterion, DesignError, DesignOutcome, DesignProblem, SolverOptions, solve_design,
};

/// A batch may spend this much more than the budget through floating-point rounding of costs.
const BUDGET_SLACK: f64 = 1e-9;

/// Fallback target of the certified gap (relative to max(1, objective) of the normalized problem,
/// whose matrices have trace at most d): shares then move by about √1e-6 = 1e-3, a quarter label
/// in a batch of 250.
const LOOSE_TOL: f64 = 1e-6;

/// Share of the non-floor labels that pilots may take at most; the rest stays designed, so a
/// registry with many unexplored arms cannot turn a batch into pilots only while any arm is known.
const PILOT_CAP: f64 = 0.5;

/// How the next batch is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// E-optimal on the plug-in M̂.
    Plugin,
    /// E-optimal on lower confidence bounds of M̂; unresolved arms get pilots.
    Lcb,
    /// Mixture averaged over designs on posterior draws (Laplace ŵ, bootstrap comparisons).
    Thompson,
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Plugin => "plugin",
            Strategy::Lcb => "lcb",
            Strategy::Thompson => "thompson",
        }
    }
}

/// Settings of the `thompson` strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThompsonOptions {
    /// Posterior draws whose designs are averaged.
    pub draws: usize,
}

impl Default for ThompsonOptions {
    fn default() -> Self {
        // 16 draws put the Monte Carlo error of each share near 1/(2·√16) ≈ 0.12 of its spread
        // across draws, below what whole-number rounding of a batch of a few hundred shows.
        ThompsonOptions { draws: 16 }
    }
}

/// What to design.
#[derive(Debug, Clone, PartialEq)]
pub struct NextRequest {
    pub strategy: Strategy,
    /// Labels in the batch (N ≥ 1).
    pub batch: u64,
    /// γ ∈ [0, 1]: at least ⌈γN⌉ labels go to the baseline arm.
    pub explore: f64,
    /// Total cost the batch may spend; `None` leaves costs out of the design (they are reported).
    pub budget: Option<f64>,
    /// Labels per arm without data (or, under `lcb`, without a resolved bound).
    pub pilot: u64,
    /// Seed of the `thompson` draws.
    pub seed: u64,
    pub lcb: LcbOptions,
    pub thompson: ThompsonOptions,
    pub solver: SolverOptions,
}

impl NextRequest {
    /// A request with the documented defaults for everything but the strategy and batch size.
    pub fn new(strategy: Strategy, batch: u64) -> Self {
        NextRequest {
            strategy,
            batch,
            explore: 0.0,
            budget: None,
            pilot: crate::design::PILOT_LABELS,
            seed: 0,
            lcb: LcbOptions::default(),
            thompson: ThompsonOptions::default(),
            solver: design_solver_options(),
        }
    }
}

/// Solver accuracy for batch designs: counts are whole numbers of a batch of at most a few
/// thousand, so shares need about 1e-4; E-optima are flat (shares move like the square root of the
/// objective error), hence 1e-8 on the objective.
pub fn design_solver_options() -> SolverOptions {
    SolverOptions {
        tol: 1e-8,
        max_iterations: 200,
    }
}

/// The comparisons of one arm of the bucket: standardized Δφ̃, row-major with `d` columns.
#[derive(Debug, Clone, Copy)]
pub struct ArmRows<'a> {
    pub arm: &'a str,
    pub rows: &'a [f64],
}

/// The bucket as the design sees it.
#[derive(Debug, Clone, Copy)]
pub struct BucketState<'a> {
    pub d: usize,
    /// ŵ in standardized units.
    pub w: &'a [f64],
    /// Every arm with data in the bucket, candidate or not (all count as information so far).
    pub arms: &'a [ArmRows<'a>],
    /// P, the Hessian of the penalized summed loss at ŵ (precision of the Laplace posterior);
    /// needed by `thompson` only.
    pub precision: Option<&'a DMatrix<f64>>,
}

/// An arm the batch may buy, with the cost of one labeled comparison in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateArm {
    pub arm: String,
    pub cost: f64,
}

/// One line of a work order. `count = floor + pilot + designed`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmOrder {
    pub arm: String,
    pub count: u64,
    /// Labels of the safe-exploration floor (baseline only).
    pub floor: u64,
    /// Pilot labels (arm without data, or an unresolved `lcb` bound).
    pub pilot: u64,
    /// Labels placed by the design.
    pub designed: u64,
    /// Continuous share of the batch before rounding (fixed labels included).
    pub share: f64,
    pub cost_per_label: f64,
    pub cost: f64,
    /// Comparisons of the bucket in this arm before the batch.
    pub n_before: u64,
    /// `lcb` only: the radius subtracted from M̂.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lcb_radius: Option<f64>,
}

/// Precision of the bucket's estimate before or (predicted) after the batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Precision {
    pub labels: u64,
    /// λ_min of the mean plug-in information (summed / labels); 0 when there are no labels.
    pub lambda_min: f64,
    /// 1/sqrt(λ_min(summed)); `None` when the summed information is unidentified.
    pub worst_se: Option<f64>,
}

/// How the designed part was solved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesignRun {
    /// λ_min(S + N_designed·X(π)) of the solved problem (for `thompson`, averaged over draws), in
    /// the units of the design matrices.
    pub objective: f64,
    /// Certified optimality gap (largest over draws).
    pub gap: f64,
    pub iterations: usize,
    /// Problems solved (1, or the number of `thompson` draws).
    pub solves: usize,
    /// Average cost per designed label allowed by the budget, when there is one.
    pub cost_cap: Option<f64>,
}

/// The next batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkOrder {
    pub strategy: String,
    pub batch: u64,
    pub explore: f64,
    pub budget: Option<f64>,
    pub seed: u64,
    pub cost: f64,
    /// Every candidate arm, sorted by name (count 0 included).
    pub arms: Vec<ArmOrder>,
    pub before: Precision,
    /// Predicted with the plug-in M̂ of every arm that has one; pilot labels of arms without data
    /// add nothing to the prediction.
    pub after: Precision,
    /// Unit eigenvector of λ_min of the predicted information (sign-fixed): the direction the
    /// batch leaves weakest, which ranks candidate pairs.
    pub weakest_after: Vec<f64>,
    pub design: Option<DesignRun>,
    /// Candidate arms with no comparisons yet.
    pub unexplored: Vec<String>,
    pub notes: Vec<String>,
}

#[derive(Debug, Error)]
pub enum CollectionError {
    #[error("{0}")]
    Input(String),
    #[error(
        "a budget of {budget:.4} cannot buy this batch: the cheapest batch that meets the floor and pilots costs {cheapest:.4}; raise --budget or lower --batch"
    )]
    Budget { budget: f64, cheapest: f64 },
    #[error(transparent)]
    Design(#[from] DesignError),
    #[error(transparent)]
    Btl(#[from] BtlError),
    #[error(transparent)]
    Moment(#[from] MomentError),
    #[error(transparent)]
    Eigen(#[from] EigenError),
}

/// Plug-in statistics of one arm's comparisons at a weight vector.
#[derive(Debug, Clone)]
struct ArmStats {
    n: u64,
    /// M̂ = (1/n) Σ g x xᵀ.
    mean: DMatrix<f64>,
    /// L = max_t g_t ‖x_t‖².
    peak: f64,
}

fn arm_stats(rows: &[f64], d: usize, w: &[f64]) -> Result<Option<ArmStats>, CollectionError> {
    if rows.is_empty() {
        return Ok(None);
    }
    let mut m = SecondMoment::new(d);
    let mut peak = 0.0f64;
    for x in rows.chunks_exact(d) {
        let margin: f64 = x.iter().zip(w).map(|(a, b)| a * b).sum();
        let g = curvature(margin);
        m.add(x, g)?;
        peak = peak.max(g * x.iter().map(|v| v * v).sum::<f64>());
    }
    Ok(Some(ArmStats {
        n: m.count(),
        mean: m.mean_matrix(0.0)?,
        peak,
    }))
}

/// Plug-in statistics of every arm of the bucket (`None` for an arm without rows) and the
/// summed information S over all of them.
fn bucket_stats(
    state: &BucketState<'_>,
) -> Result<(Vec<Option<ArmStats>>, DMatrix<f64>), CollectionError> {
    let d = state.d;
    let stats: Vec<Option<ArmStats>> = state
        .arms
        .iter()
        .map(|a| arm_stats(a.rows, d, state.w))
        .collect::<Result<_, _>>()?;
    let mut summed = DMatrix::zeros(d, d);
    for s in stats.iter().flatten() {
        summed += &s.mean * s.n as f64;
    }
    Ok((stats, summed))
}

/// For each candidate, the index of its arm's statistics when it has data.
fn data_index(
    state: &BucketState<'_>,
    stats: &[Option<ArmStats>],
    candidates: &[CandidateArm],
) -> Vec<Option<usize>> {
    candidates
        .iter()
        .map(|c| {
            state
                .arms
                .iter()
                .position(|a| a.arm == c.arm)
                .filter(|&i| stats[i].is_some())
        })
        .collect()
}

fn check_state(state: &BucketState<'_>) -> Result<(), CollectionError> {
    let d = state.d;
    if d == 0 {
        return Err(CollectionError::Input("the feature dimension is 0".into()));
    }
    if state.w.len() != d || state.w.iter().any(|v| !v.is_finite()) {
        return Err(CollectionError::Input(format!(
            "ŵ must have {d} finite entries, found {:?}",
            state.w
        )));
    }
    for (i, a) in state.arms.iter().enumerate() {
        if a.rows.len() % d != 0 {
            return Err(CollectionError::Input(format!(
                "arm '{}' has {} values, not a multiple of d = {d}",
                a.arm,
                a.rows.len()
            )));
        }
        if state.arms[..i].iter().any(|b| b.arm == a.arm) {
            return Err(CollectionError::Input(format!(
                "arm '{}' is listed twice in the bucket",
                a.arm
            )));
        }
    }
    Ok(())
}

fn check_request(
    req: &NextRequest,
    candidates: &[CandidateArm],
) -> Result<Option<usize>, CollectionError> {
    if req.batch == 0 {
        return Err(CollectionError::Input(
            "--batch must be at least 1".to_string(),
        ));
    }
    if !(req.explore.is_finite() && (0.0..=1.0).contains(&req.explore)) {
        return Err(CollectionError::Input(format!(
            "--explore {} must be a share in [0, 1]",
            req.explore
        )));
    }
    if let Some(b) = req.budget {
        if !(b.is_finite() && b >= 0.0) {
            return Err(CollectionError::Input(format!(
                "--budget {b} must be a finite non-negative cost"
            )));
        }
    }
    if req.strategy == Strategy::Thompson && req.thompson.draws == 0 {
        return Err(CollectionError::Input(
            "thompson needs at least one draw".to_string(),
        ));
    }
    if !(req.lcb.delta > 0.0 && req.lcb.delta < 1.0 && req.lcb.scale.is_finite())
        || req.lcb.scale < 0.0
    {
        return Err(CollectionError::Input(format!(
            "lcb needs δ in (0, 1) and a non-negative scale, found δ = {}, scale = {}",
            req.lcb.delta, req.lcb.scale
        )));
    }
    if candidates.is_empty() {
        return Err(CollectionError::Input(
            "there is no candidate arm to label".to_string(),
        ));
    }
    for (i, c) in candidates.iter().enumerate() {
        if !(c.cost.is_finite() && c.cost >= 0.0) {
            return Err(CollectionError::Input(format!(
                "arm '{}' has cost {}, expected a finite non-negative number",
                c.arm, c.cost
            )));
        }
        if candidates[..i].iter().any(|x| x.arm == c.arm) {
            return Err(CollectionError::Input(format!(
                "arm '{}' is a candidate twice",
                c.arm
            )));
        }
    }
    let baseline = candidates.iter().position(|c| c.arm == BASELINE);
    if req.explore > 0.0 && baseline.is_none() {
        return Err(CollectionError::Input(
            "--explore puts labels on the baseline arm, which is not among the candidate arms"
                .to_string(),
        ));
    }
    Ok(baseline)
}

/// λ_min and worst_se of a summed information matrix over `labels` comparisons.
fn precision(summed: &DMatrix<f64>, labels: u64) -> Result<(Precision, Vec<f64>), EigenError> {
    let eig = sym_eigen(summed)?;
    let lambda = eig.psd_lambda_min();
    let identified = is_identified(eig.lambda_min(), eig.lambda_max());
    Ok((
        Precision {
            labels,
            lambda_min: if labels > 0 {
                lambda / labels as f64
            } else {
                0.0
            },
            worst_se: (identified && lambda > 0.0).then(|| 1.0 / lambda.sqrt()),
        },
        eig.min_vector(),
    ))
}

/// Fixed labels: the baseline floor and the pilots, per candidate (in candidate order).
struct Fixed {
    floor: Vec<u64>,
    pilot: Vec<u64>,
}

fn fixed_labels(
    req: &NextRequest,
    baseline: Option<usize>,
    needs_pilot: &[bool],
    designable: &[bool],
    notes: &mut Vec<String>,
) -> Fixed {
    let k = needs_pilot.len();
    let n = req.batch;
    let mut floor = vec![0u64; k];
    if let Some(b) = baseline {
        // ⌈γN⌉ with a tolerance, so that γ = 0.1 of 100 is 10 and not 11 after rounding.
        let wanted = ((req.explore * n as f64) - 1e-9).ceil().max(0.0) as u64;
        floor[b] = wanted.min(n);
    }
    let mut pilot = vec![0u64; k];
    let rest = n - floor.iter().sum::<u64>();
    let pilots: Vec<usize> = (0..k).filter(|&i| needs_pilot[i]).collect();
    if pilots.is_empty() || rest == 0 {
        return Fixed { floor, pilot };
    }
    if !designable.iter().any(|d| *d) {
        // Nothing to design with: the whole rest is split evenly among the pilot arms.
        let each = rest / pilots.len() as u64;
        let extra = rest % pilots.len() as u64;
        for (j, &i) in pilots.iter().enumerate() {
            pilot[i] = each + u64::from((j as u64) < extra);
        }
        return Fixed { floor, pilot };
    }
    let cap = (rest as f64 * PILOT_CAP).floor() as u64;
    // The floor labels of an unexplored baseline already estimate it.
    let want = |i: usize| req.pilot.saturating_sub(floor[i]);
    let total: u64 = pilots.iter().map(|&i| want(i)).sum();
    if total <= cap {
        for &i in &pilots {
            pilot[i] = want(i);
        }
    } else {
        let each = cap / pilots.len() as u64;
        if each > 0 {
            for &i in &pilots {
                pilot[i] = want(i).min(each);
            }
        } else {
            for &i in pilots.iter().take(cap as usize) {
                pilot[i] = want(i).min(1);
            }
        }
        notes.push(format!(
            "{} arms need pilot labels but pilots may take at most half of the {rest} non-floor labels; \
             each got at most {} (raise --batch or restrict --arms)",
            pilots.len(),
            each.max(1)
        ));
    }
    Fixed { floor, pilot }
}

/// Symmetrize, then scale a family of matrices so the largest trace is d (the E-optimal mixture
/// does not change under a common positive scale; the solver's tolerance is relative to
/// max(1, |objective|), so matrices of size 1e-6 would otherwise be solved to a loose gap).
fn normalized(matrices: Vec<DMatrix<f64>>, d: usize) -> (Vec<DMatrix<f64>>, f64) {
    let sym: Vec<DMatrix<f64>> = matrices
        .into_iter()
        .map(|m| (&m + m.transpose()) * 0.5)
        .collect();
    let largest = sym.iter().map(|m| m.trace()).fold(0.0f64, f64::max);
    let scale = if largest > 0.0 {
        d as f64 / largest
    } else {
        1.0
    };
    (sym.into_iter().map(|m| m * scale).collect(), scale)
}

/// One E-optimal solve of max λ_min(offset + free·Σ π_k D_k) over the designable arms.
struct Solved {
    pi: Vec<f64>,
    objective: f64,
    gap: f64,
    iterations: usize,
}

fn solve_once(
    offset: &DMatrix<f64>,
    design: &[DMatrix<f64>],
    costs: &[f64],
    free: u64,
    cap: Option<f64>,
    d: usize,
    solver: &SolverOptions,
) -> Result<Solved, CollectionError> {
    let per_label = offset / free as f64;
    let raw: Vec<DMatrix<f64>> = design.iter().map(|m| &per_label + m).collect();
    let (matrices, scale) = normalized(raw, d);
    let problem = DesignProblem {
        matrices: vec![matrices],
        costs: costs.to_vec(),
        budget: cap,
        min_mass: None,
        criterion: Criterion::E,
    };
    // With a long history S/N dominates every matrix, so the batch moves the objective by a small
    // fraction of its size and the certified gap can stall a little above a tight target. Shares
    // only need to be right to a fraction of a label: retry once at a looser target.
    let outcome = match solve_design(&problem, solver) {
        Err(DesignError::NotConverged { .. }) if solver.tol < LOOSE_TOL => {
            let loose = SolverOptions {
                tol: LOOSE_TOL,
                ..*solver
            };
            solve_design(&problem, &loose)?
        }
        other => other?,
    };
    match outcome {
        DesignOutcome::Optimal(sol) => Ok(Solved {
            pi: sol.pi,
            objective: sol.objective * free as f64 / scale,
            gap: sol.gap * free as f64 / scale,
            iterations: sol.iterations,
        }),
        DesignOutcome::Infeasible { cheapest_cost, .. } => Err(CollectionError::Budget {
            budget: cap.unwrap_or(0.0) * free as f64,
            cheapest: cheapest_cost.unwrap_or(f64::NAN) * free as f64,
        }),
    }
}

/// Designs the next batch for one bucket (see the module docs).
///
/// `candidates` are the arms the batch may buy with their per-label costs; arms of `state` that are
/// not candidates still count as information collected so far.
pub fn design_next(
    state: &BucketState<'_>,
    candidates: &[CandidateArm],
    req: &NextRequest,
) -> Result<WorkOrder, CollectionError> {
    check_state(state)?;
    let baseline = check_request(req, candidates)?;
    let d = state.d;
    let (stats, summed) = bucket_stats(state)?;
    let data_of = data_index(state, &stats, candidates);
    let known = |j: usize| -> Result<&ArmStats, CollectionError> {
        stats[j]
            .as_ref()
            .ok_or_else(|| CollectionError::Input("internal: arm without statistics".into()))
    };
    let k = candidates.len();
    let mut notes = Vec::new();
    let mut radius: Vec<Option<f64>> = vec![None; k];
    let mut lower: Vec<Option<DMatrix<f64>>> = vec![None; k];
    let mut needs_pilot: Vec<bool> = data_of.iter().map(Option::is_none).collect();
    if req.strategy == Strategy::Lcb {
        for i in 0..k {
            if let Some(j) = data_of[i] {
                let st = known(j)?;
                let lb = lcb::lower_bound(&st.mean, st.n, st.peak, &req.lcb)?;
                radius[i] = Some(lb.radius);
                if lb.vanished {
                    needs_pilot[i] = true;
                    notes.push(format!(
                        "{}: {} comparisons do not yet bound its information away from zero (lcb radius {:.3e}); it gets pilot labels",
                        candidates[i].arm, st.n, lb.radius
                    ));
                } else {
                    lower[i] = Some(lb.matrix);
                }
            }
        }
    }
    let designable: Vec<bool> = (0..k).map(|i| !needs_pilot[i]).collect();
    let fixed = fixed_labels(req, baseline, &needs_pilot, &designable, &mut notes);
    let fixed_count: u64 = fixed.floor.iter().sum::<u64>() + fixed.pilot.iter().sum::<u64>();
    let free = req.batch - fixed_count;
    let fixed_cost: f64 = (0..k)
        .map(|i| (fixed.floor[i] + fixed.pilot[i]) as f64 * candidates[i].cost)
        .sum();
    let design_arms: Vec<usize> = (0..k).filter(|&i| designable[i]).collect();
    let cheapest_free = design_arms
        .iter()
        .map(|&i| candidates[i].cost)
        .fold(f64::INFINITY, f64::min);
    if let Some(budget) = req.budget {
        let cheapest = fixed_cost
            + if free > 0 {
                free as f64 * cheapest_free
            } else {
                0.0
            };
        if cheapest > budget + BUDGET_SLACK * budget.max(1.0) {
            return Err(CollectionError::Budget { budget, cheapest });
        }
    }
    let cap = req
        .budget
        .filter(|_| free > 0)
        .map(|b| ((b - fixed_cost) / free as f64).max(0.0));

    // Information already fixed before the design: the data so far and the floor labels.
    let mut offset = summed.clone();
    if let Some(b) = baseline {
        if let Some(j) = data_of[b] {
            offset += &known(j)?.mean * fixed.floor[b] as f64;
        }
    }

    let mut designed = vec![0u64; k];
    let mut continuous = vec![0.0f64; k];
    let mut run = None;
    if free > 0 && !design_arms.is_empty() {
        let costs: Vec<f64> = design_arms.iter().map(|&i| candidates[i].cost).collect();
        let (pi, solved) = match req.strategy {
            Strategy::Plugin | Strategy::Lcb => {
                let mut matrices: Vec<DMatrix<f64>> = Vec::with_capacity(design_arms.len());
                for &i in &design_arms {
                    matrices.push(match (&lower[i], data_of[i]) {
                        (Some(lb), _) => lb.clone(),
                        (None, Some(j)) => known(j)?.mean.clone(),
                        (None, None) => DMatrix::zeros(d, d),
                    });
                }
                let s = solve_once(&offset, &matrices, &costs, free, cap, d, &req.solver)?;
                (s.pi.clone(), vec![s])
            }
            Strategy::Thompson => {
                let precision = state.precision.ok_or_else(|| {
                    CollectionError::Input(
                        "thompson needs the posterior precision of ŵ".to_string(),
                    )
                })?;
                thompson(
                    state,
                    &design_arms,
                    &data_of,
                    baseline,
                    &fixed.floor,
                    precision,
                    &costs,
                    free,
                    cap,
                    req,
                )?
            }
        };
        let counts = round_counts(free, &pi, &costs, cap.map(|c| c * free as f64));
        for (slot, &i) in design_arms.iter().enumerate() {
            designed[i] = counts[slot];
            continuous[i] = pi[slot] * free as f64;
        }
        let solves = solved.len();
        run = Some(DesignRun {
            objective: solved.iter().map(|s| s.objective).sum::<f64>() / solves as f64,
            gap: solved.iter().map(|s| s.gap).fold(0.0, f64::max),
            iterations: solved.iter().map(|s| s.iterations).sum(),
            solves,
            cost_cap: cap,
        });
    }
    let unexplored: Vec<String> = (0..k)
        .filter(|&i| data_of[i].is_none())
        .map(|i| candidates[i].arm.clone())
        .collect();
    let counts: Vec<u64> = (0..k)
        .map(|i| fixed.floor[i] + fixed.pilot[i] + designed[i])
        .collect();
    let shares: Vec<f64> = (0..k)
        .map(|i| (fixed.floor[i] + fixed.pilot[i]) as f64 + continuous[i])
        .map(|x| x / req.batch as f64)
        .collect();
    finish(
        state,
        candidates,
        &stats,
        &data_of,
        Lines {
            counts: &counts,
            floor: &fixed.floor,
            pilot: &fixed.pilot,
            shares: &shares,
            radius: &radius,
        },
        Header {
            strategy: req.strategy.name().to_string(),
            batch: req.batch,
            explore: req.explore,
            budget: req.budget,
            seed: req.seed,
        },
        run,
        unexplored,
        notes,
    )
}

/// The `thompson` mixture: designs on posterior draws, averaged.
#[allow(clippy::too_many_arguments)]
fn thompson(
    state: &BucketState<'_>,
    design_arms: &[usize],
    data_of: &[Option<usize>],
    baseline: Option<usize>,
    floor: &[u64],
    precision: &DMatrix<f64>,
    costs: &[f64],
    free: u64,
    cap: Option<f64>,
    req: &NextRequest,
) -> Result<(Vec<f64>, Vec<Solved>), CollectionError> {
    let d = state.d;
    if precision.nrows() != d || precision.ncols() != d || precision.iter().any(|v| !v.is_finite())
    {
        return Err(CollectionError::Input(format!(
            "the posterior precision must be a finite {d}×{d} matrix"
        )));
    }
    let sym = (precision + precision.transpose()) * 0.5;
    let chol = Cholesky::new(sym).ok_or_else(|| {
        CollectionError::Input(
            "thompson needs a positive definite posterior precision: the fit's information is singular; use a ridge above 0"
                .to_string(),
        )
    })?;
    let upper = chol.l().transpose();
    let mut rng = ChaCha8Rng::seed_from_u64(req.seed);
    let mut sum = vec![0.0f64; design_arms.len()];
    let mut solved = Vec::with_capacity(req.thompson.draws);
    let mut resampled: Vec<f64> = Vec::new();
    for _ in 0..req.thompson.draws {
        let z = DVector::from_iterator(d, (0..d).map(|_| StandardNormal.sample(&mut rng)));
        // w_b = ŵ + U⁻¹z with P = UᵀU has covariance P⁻¹.
        let step = upper
            .solve_upper_triangular(&z)
            .ok_or(CollectionError::Input(
                "the posterior precision has a zero pivot".to_string(),
            ))?;
        let w: Vec<f64> = state
            .w
            .iter()
            .zip(step.iter())
            .map(|(a, b)| a + b)
            .collect();
        let mut means: Vec<Option<DMatrix<f64>>> = Vec::with_capacity(state.arms.len());
        let mut summed = DMatrix::zeros(d, d);
        for arm in state.arms {
            let rows: Vec<&[f64]> = arm.rows.chunks_exact(d).collect();
            if rows.is_empty() {
                means.push(None);
                continue;
            }
            resampled.clear();
            for _ in 0..rows.len() {
                if let Some(row) = rows.choose(&mut rng) {
                    resampled.extend_from_slice(row);
                }
            }
            match arm_stats(&resampled, d, &w)? {
                Some(s) => {
                    summed += &s.mean * s.n as f64;
                    means.push(Some(s.mean));
                }
                None => means.push(None),
            }
        }
        let mut offset = summed;
        if let Some(b) = baseline {
            if let Some(m) = data_of[b].and_then(|j| means[j].as_ref()) {
                offset += m * floor[b] as f64;
            }
        }
        let matrices: Vec<DMatrix<f64>> = design_arms
            .iter()
            .map(|&i| {
                data_of[i]
                    .and_then(|j| means[j].clone())
                    .unwrap_or_else(|| DMatrix::zeros(d, d))
            })
            .collect();
        let s = solve_once(&offset, &matrices, costs, free, cap, d, &req.solver)?;
        for (acc, p) in sum.iter_mut().zip(&s.pi) {
            *acc += p;
        }
        solved.push(s);
    }
    let draws = req.thompson.draws as f64;
    Ok((sum.into_iter().map(|s| s / draws).collect(), solved))
}

/// Per-candidate lines of a work order before pricing.
struct Lines<'a> {
    counts: &'a [u64],
    floor: &'a [u64],
    pilot: &'a [u64],
    shares: &'a [f64],
    radius: &'a [Option<f64>],
}

struct Header {
    strategy: String,
    batch: u64,
    explore: f64,
    budget: Option<f64>,
    seed: u64,
}

#[allow(clippy::too_many_arguments)]
fn finish(
    state: &BucketState<'_>,
    candidates: &[CandidateArm],
    stats: &[Option<ArmStats>],
    data_of: &[Option<usize>],
    lines: Lines<'_>,
    header: Header,
    design: Option<DesignRun>,
    unexplored: Vec<String>,
    notes: Vec<String>,
) -> Result<WorkOrder, CollectionError> {
    let d = state.d;
    let n_total: u64 = stats.iter().flatten().map(|s| s.n).sum();
    let mut summed = DMatrix::zeros(d, d);
    for s in stats.iter().flatten() {
        summed += &s.mean * s.n as f64;
    }
    let (before, _) = precision(&summed, n_total)?;
    let mut after_summed = summed.clone();
    for (i, &count) in lines.counts.iter().enumerate() {
        if let Some(s) = data_of[i].and_then(|j| stats[j].as_ref()) {
            after_summed += &s.mean * count as f64;
        }
    }
    let after_sym = (&after_summed + after_summed.transpose()) * 0.5;
    let (after, weakest_after) = precision(&after_sym, n_total + header.batch)?;
    let mut arms: Vec<ArmOrder> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| ArmOrder {
            arm: c.arm.clone(),
            count: lines.counts[i],
            floor: lines.floor[i],
            pilot: lines.pilot[i],
            designed: lines.counts[i] - lines.floor[i] - lines.pilot[i],
            share: lines.shares[i],
            cost_per_label: c.cost,
            cost: lines.counts[i] as f64 * c.cost,
            n_before: data_of[i]
                .and_then(|j| stats[j].as_ref())
                .map_or(0, |s| s.n),
            lcb_radius: lines.radius[i],
        })
        .collect();
    arms.sort_by(|a, b| a.arm.cmp(&b.arm));
    let mut unexplored = unexplored;
    unexplored.sort();
    Ok(WorkOrder {
        strategy: header.strategy,
        batch: header.batch,
        explore: header.explore,
        budget: header.budget,
        seed: header.seed,
        cost: arms.iter().map(|a| a.cost).sum(),
        arms,
        before,
        after,
        weakest_after,
        design,
        unexplored,
        notes,
    })
}

/// `total` labels split as evenly as possible over `k` arms (earlier arms get the remainder).
pub fn uniform_counts(total: u64, k: usize) -> Vec<u64> {
    if k == 0 {
        return Vec::new();
    }
    let each = total / k as u64;
    let extra = total % k as u64;
    (0..k)
        .map(|i| each + u64::from((i as u64) < extra))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// `n` rows of (z₁, ρz₁ + √(1−ρ²)z₂).
    fn rows(n: usize, rho: f64, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut out = Vec::with_capacity(2 * n);
        for _ in 0..n {
            let a: f64 = StandardNormal.sample(&mut rng);
            let b: f64 = StandardNormal.sample(&mut rng);
            let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
            out.push(sign * a);
            out.push(sign * (rho * a + (1.0 - rho * rho).sqrt() * b));
        }
        out
    }

    struct Fixture {
        base: Vec<f64>,
        cross: Vec<f64>,
        w: Vec<f64>,
        precision: DMatrix<f64>,
    }

    fn fixture() -> Fixture {
        let base = rows(400, 0.9, 1);
        let cross = rows(200, -0.5, 2);
        let w = vec![0.5, 0.4];
        let mut p = DMatrix::identity(2, 2) * 0.1;
        for x in base.chunks_exact(2).chain(cross.chunks_exact(2)) {
            let g = curvature(w[0] * x[0] + w[1] * x[1]);
            let v = DMatrix::from_row_slice(2, 1, x);
            p += &v * v.transpose() * g;
        }
        Fixture {
            base,
            cross,
            w,
            precision: p,
        }
    }

    fn candidates() -> Vec<CandidateArm> {
        vec![
            CandidateArm {
                arm: "baseline".into(),
                cost: 1.0,
            },
            CandidateArm {
                arm: "baseline/cross".into(),
                cost: 2.0,
            },
            CandidateArm {
                arm: "baseline/new".into(),
                cost: 1.5,
            },
        ]
    }

    fn order(f: &Fixture, req: &NextRequest) -> Result<WorkOrder, CollectionError> {
        let arms = [
            ArmRows {
                arm: "baseline",
                rows: &f.base,
            },
            ArmRows {
                arm: "baseline/cross",
                rows: &f.cross,
            },
        ];
        let state = BucketState {
            d: 2,
            w: &f.w,
            arms: &arms,
            precision: Some(&f.precision),
        };
        design_next(&state, &candidates(), req)
    }

    fn line<'a>(o: &'a WorkOrder, arm: &str) -> &'a ArmOrder {
        o.arms.iter().find(|a| a.arm == arm).unwrap()
    }

    #[test]
    fn whole_counts_sum_to_the_batch_and_unexplored_arms_get_pilots() {
        let f = fixture();
        for strategy in [Strategy::Plugin, Strategy::Lcb, Strategy::Thompson] {
            let mut req = NextRequest::new(strategy, 101);
            req.pilot = 7;
            let o = order(&f, &req).unwrap();
            assert_eq!(
                o.arms.iter().map(|a| a.count).sum::<u64>(),
                101,
                "{strategy:?}"
            );
            assert_eq!(line(&o, "baseline/new").pilot, 7);
            assert_eq!(o.unexplored, vec!["baseline/new".to_string()]);
            let cost: f64 = o
                .arms
                .iter()
                .map(|a| a.count as f64 * a.cost_per_label)
                .sum();
            assert!((o.cost - cost).abs() < 1e-9);
            // The crossing arm is what the correlated history lacks.
            assert!(line(&o, "baseline/cross").count > 30, "{strategy:?}: {o:?}");
            assert!(o.after.lambda_min > o.before.lambda_min);
        }
    }

    #[test]
    fn the_floor_and_the_budget_hold() {
        let f = fixture();
        let mut req = NextRequest::new(Strategy::Plugin, 100);
        req.explore = 0.35;
        req.pilot = 0;
        req.budget = Some(140.0);
        let o = order(&f, &req).unwrap();
        assert!(line(&o, "baseline").count >= 35);
        assert_eq!(line(&o, "baseline").floor, 35);
        assert!(o.cost <= 140.0 + 1e-9, "{}", o.cost);
        req.budget = Some(99.0);
        let err = order(&f, &req).unwrap_err();
        assert!(matches!(err, CollectionError::Budget { .. }), "{err}");
    }

    #[test]
    fn thompson_is_reproducible_for_a_seed() {
        let f = fixture();
        let mut req = NextRequest::new(Strategy::Thompson, 200);
        req.seed = 11;
        let a = order(&f, &req).unwrap();
        let b = order(&f, &req).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.design.as_ref().map(|d| d.solves), Some(16));
    }

    #[test]
    fn lcb_gives_pilots_to_arms_whose_bound_vanishes() {
        let mut f = fixture();
        f.cross.truncate(6);
        let mut req = NextRequest::new(Strategy::Lcb, 100);
        req.pilot = 9;
        let o = order(&f, &req).unwrap();
        let cross = line(&o, "baseline/cross");
        assert_eq!(cross.pilot, 9, "{o:?}");
        assert!(cross.lcb_radius.is_some());
        let plugin = order(&f, &NextRequest::new(Strategy::Plugin, 100)).unwrap();
        assert_eq!(line(&plugin, "baseline/cross").pilot, 0);
    }

    #[test]
    fn bad_requests_are_refused() {
        let f = fixture();
        let mut req = NextRequest::new(Strategy::Plugin, 0);
        assert!(order(&f, &req).is_err());
        req.batch = 10;
        req.explore = 1.5;
        assert!(order(&f, &req).is_err());
        req.explore = 0.0;
        req.budget = Some(f64::NAN);
        assert!(order(&f, &req).is_err());
    }

    #[test]
    fn uniform_counts_spread_the_remainder_first() {
        assert_eq!(uniform_counts(10, 3), vec![4, 3, 3]);
        assert_eq!(uniform_counts(2, 3), vec![1, 1, 0]);
        assert!(uniform_counts(5, 0).is_empty());
    }
}
