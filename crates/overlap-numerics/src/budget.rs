//! Label budget plans: knapsack with coverage across buckets (DESIGN.md §2 "Budget plan").
//!
//! Owns [`plan_budget`]. Each bucket k has summed information S_k, a target T_k on λ_min, a
//! harm weight h_k and arms r (information per comparison M̂_{k,r}, cost c_{k,r}). With a
//! budget B the plan maximizes Σ_k h_k·min(1, λ_min(S_k + Σ_r n_{k,r} M̂_{k,r}) / T_k) over
//! whole numbers n ≥ 0 with Σ n·c ≤ B; without one it minimizes the cost of meeting every
//! target. A bucket that can never meet its target gets no labels in either mode: it is named,
//! with a direction no arm moves.
//!
//! Method. Spending N on bucket k at best buys V_k(N) = max over cost shares p of
//! λ_min(S_k + N Σ_r p_r M̂_{k,r}/c_{k,r}), an E-optimal design problem (solved by
//! [`super::optimal_design`], with S_k held as a fixed arm); V_k is concave and nondecreasing, and its
//! slope comes from the design's dual matrix. The continuous optimum equalizes marginal values
//! h_k V_k'(N_k)/T_k across the buckets that are not yet at target (bisection on the common
//! marginal value, with nested bisections on each N_k), or, without a budget, finds each N_k
//! with V_k(N_k) = T_k by Newton's method from below. Counts are then rounded (down with a
//! budget, up without) and repaired greedily: labels added by best marginal value per cost,
//! then single-label exchanges (budget) or removals (targets) while they help. Both the
//! continuous and the integer plan are returned, so the rounding gap is visible.
//!
//! It must not do I/O or know where the matrices came from; it is deterministic.

use nalgebra::DMatrix;
use thiserror::Error;

use super::optimal_design::{
    Criterion, DesignError, DesignOutcome, DesignProblem, SolverOptions, solve_with_dual,
};

/// One arm of a bucket: the information one labeled comparison adds, and what it costs.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanArm {
    pub info: DMatrix<f64>,
    pub cost: f64,
}

/// One bucket: current summed information S_k = n_k Î_k, target T_k > 0 on λ_min, harm
/// weight h_k ≥ 0, and the arms new labels can come from.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanBucket {
    pub summed_info: DMatrix<f64>,
    pub target: f64,
    pub harm: f64,
    pub arms: Vec<PlanArm>,
}

/// Accuracy and effort of the planner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanOptions {
    /// Options of every design solve (each evaluation of V_k).
    pub design: SolverOptions,
    /// Relative accuracy of the continuous allocation (spend per bucket, in units of the
    /// budget or of the bucket's spend to target).
    pub tol: f64,
    /// Cap on design solves over the whole plan; exceeding it is an error.
    pub max_solves: usize,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            design: SolverOptions::default(),
            tol: 1e-8,
            max_solves: 20_000,
        }
    }
}

/// Why a bucket cannot reach its target with any number of labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreachable {
    pub bucket: usize,
    /// The supremum of λ_min over all plans (approached as counts grow without bound).
    pub ceiling: f64,
    /// A unit direction no arm of the bucket moves (sign convention of DESIGN.md §2); the
    /// information along it stays that of S_k.
    pub direction: Vec<f64>,
    pub reason: String,
}

/// The plan for one bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketPlan {
    /// New comparisons per arm: continuous optimum and whole-number plan.
    pub continuous_counts: Vec<f64>,
    pub counts: Vec<u64>,
    pub continuous_cost: f64,
    pub cost: f64,
    pub lambda_min_before: f64,
    /// λ_min after the continuous and after the integer plan.
    pub lambda_min_continuous: f64,
    pub lambda_min_after: f64,
    /// 1/sqrt(λ_min) before and after the integer plan (+∞ when λ_min ≤ 0).
    pub worst_se_before: f64,
    pub worst_se_after: f64,
    pub target: f64,
    pub target_met: bool,
    /// h_k·min(1, λ_min/T_k) after the integer plan.
    pub value: f64,
}

/// What was optimized.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PlanMode {
    /// Maximize Σ h_k min(1, λ_min/T_k) within this budget.
    Budget(f64),
    /// Meet every reachable target at least cost.
    MeetTargets,
}

/// A budget plan: per bucket, totals for the continuous optimum and for the integer plan.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetPlan {
    pub mode: PlanMode,
    pub buckets: Vec<BucketPlan>,
    /// Σ h_k min(1, λ_min/T_k) of the continuous optimum and of the integer plan.
    pub continuous_objective: f64,
    pub objective: f64,
    pub continuous_cost: f64,
    pub cost: f64,
    /// Buckets whose target no plan reaches; they get no labels, with or without a budget.
    pub unreachable: Vec<Unreachable>,
    /// Design solves used.
    pub solves: usize,
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum PlanError {
    #[error("budget plan has no buckets")]
    NoBuckets,
    #[error(
        "bucket {bucket}: {what} is {rows}x{cols}, expected {dim}x{dim} like the bucket's summed information"
    )]
    Shape {
        bucket: usize,
        what: String,
        rows: usize,
        cols: usize,
        dim: usize,
    },
    #[error("bucket {bucket}: {what} has a non-finite entry")]
    NonFinite { bucket: usize, what: String },
    #[error("bucket {bucket}: {what} is not symmetric positive semidefinite")]
    NotPsd { bucket: usize, what: String },
    #[error("bucket {bucket}: target {value} must be positive and finite")]
    BadTarget { bucket: usize, value: f64 },
    #[error("bucket {bucket}: harm weight {value} must be non-negative and finite")]
    BadHarm { bucket: usize, value: f64 },
    #[error("bucket {bucket}: arm {arm} costs {value}; costs must be positive and finite")]
    BadCost {
        bucket: usize,
        arm: usize,
        value: f64,
    },
    #[error("budget {0} must be non-negative and finite")]
    BadBudget(f64),
    #[error("planner options are invalid: tol {tol} must be in (0, 1) and max_solves positive")]
    BadOptions { tol: f64, max_solves: usize },
    #[error("design solve for bucket {bucket} failed: {source}")]
    Design {
        bucket: usize,
        #[source]
        source: DesignError,
    },
    #[error("the planner needed more than {0} design solves; raise max_solves or loosen tol")]
    TooManySolves(usize),
}

/// Relative symmetry and PSD tolerances of the inputs (as in the design solver).
const SYM_TOL: f64 = 1e-10;
const PSD_TOL: f64 = 1e-9;
/// Eigenvalues of Σ_r M̂_r below this fraction of the largest span directions no arm moves.
const NULL_TOL: f64 = 1e-10;
/// Cap on greedy repair rounds (each adds, exchanges or removes one label).
const MAX_REPAIR_ROUNDS: usize = 100_000;
/// Cap on exchange rounds (each costs a pass over all pairs of label types).
const MAX_EXCHANGES: usize = 200;
/// Neighbourhood search: counts within this many labels of the continuous optimum, on at most
/// this many plans per bucket, with merged frontiers of at most this many plans.
const NEIGHBOURHOOD: u64 = 2;
const MAX_BOX: usize = 4096;
const MAX_FRONTIER: usize = 20_000;

/// Plan new labels for `buckets`: within `budget` when given (maximizing harm-weighted
/// coverage of the targets), or meeting every reachable target at least cost when not.
pub fn plan_budget(
    buckets: &[PlanBucket],
    budget: Option<f64>,
    options: &PlanOptions,
) -> Result<BudgetPlan, PlanError> {
    if !(options.tol > 0.0 && options.tol < 1.0) || options.max_solves == 0 {
        return Err(PlanError::BadOptions {
            tol: options.tol,
            max_solves: options.max_solves,
        });
    }
    validate(buckets, budget)?;
    let mut planner = Planner {
        buckets: buckets.iter().map(Bucket::new).collect(),
        options: *options,
        solves: 0,
    };
    let unreachable: Vec<Unreachable> = planner
        .buckets
        .iter()
        .enumerate()
        .filter_map(|(k, b)| b.unreachable(k))
        .collect();
    let blocked: Vec<bool> = (0..buckets.len())
        .map(|k| unreachable.iter().any(|u| u.bucket == k))
        .collect();

    // Continuous spend per bucket.
    let spend: Vec<f64> = match budget {
        Some(b) => planner.allocate(b, &blocked)?,
        None => {
            let mut spend = Vec::with_capacity(buckets.len());
            for (k, &is_blocked) in blocked.iter().enumerate() {
                spend.push(if is_blocked {
                    0.0
                } else {
                    planner.spend_to_target(k)?
                });
            }
            spend
        }
    };
    let mut continuous = Vec::with_capacity(buckets.len());
    for (k, &n) in spend.iter().enumerate() {
        continuous.push(planner.counts_at(k, n)?);
    }

    // Whole numbers: round, then repair.
    let mut counts: Vec<Vec<u64>> = match budget {
        Some(_) => continuous
            .iter()
            .map(|c| c.iter().map(|&x| x.max(0.0).floor() as u64).collect())
            .collect(),
        None => continuous
            .iter()
            .map(|c| c.iter().map(|&x| x.max(0.0).ceil() as u64).collect())
            .collect(),
    };
    match budget {
        Some(b) => {
            if let Some(better) = planner.neighbourhood_search(&continuous, b, &blocked) {
                counts = better;
            }
            planner.repair_budget(&mut counts, b, &blocked);
        }
        None => planner.repair_targets(&mut counts, &continuous, &blocked),
    }

    let mut plans = Vec::with_capacity(buckets.len());
    for (k, bucket) in planner.buckets.iter().enumerate() {
        let cont = &continuous[k];
        let lambda_cont = bucket.lambda_with(cont);
        let int_f: Vec<f64> = counts[k].iter().map(|&c| c as f64).collect();
        let lambda_after = bucket.lambda_with(&int_f);
        let cost: f64 = int_f.iter().zip(&bucket.costs).map(|(n, c)| n * c).sum();
        let continuous_cost: f64 = cont.iter().zip(&bucket.costs).map(|(n, c)| n * c).sum();
        plans.push(BucketPlan {
            continuous_counts: cont.clone(),
            counts: counts[k].clone(),
            continuous_cost,
            cost,
            lambda_min_before: bucket.lambda0,
            lambda_min_continuous: lambda_cont,
            lambda_min_after: lambda_after,
            worst_se_before: worst_se(bucket.lambda0),
            worst_se_after: worst_se(lambda_after),
            target: bucket.target,
            target_met: lambda_after >= bucket.target,
            value: bucket.value_of(lambda_after),
        });
    }
    let continuous_objective = plans
        .iter()
        .zip(&planner.buckets)
        .map(|(p, b)| b.value_of(p.lambda_min_continuous))
        .sum();
    Ok(BudgetPlan {
        mode: budget.map_or(PlanMode::MeetTargets, PlanMode::Budget),
        objective: plans.iter().map(|p| p.value).sum(),
        continuous_objective,
        continuous_cost: plans.iter().map(|p| p.continuous_cost).sum(),
        cost: plans.iter().map(|p| p.cost).sum(),
        buckets: plans,
        unreachable,
        solves: planner.solves,
    })
}

fn worst_se(lambda: f64) -> f64 {
    if lambda > 0.0 {
        1.0 / lambda.sqrt()
    } else {
        f64::INFINITY
    }
}

fn check_matrix(
    m: &DMatrix<f64>,
    dim: usize,
    bucket: usize,
    what: String,
) -> Result<(), PlanError> {
    if m.nrows() != dim || m.ncols() != dim {
        return Err(PlanError::Shape {
            bucket,
            what,
            rows: m.nrows(),
            cols: m.ncols(),
            dim,
        });
    }
    if m.iter().any(|v| !v.is_finite()) {
        return Err(PlanError::NonFinite { bucket, what });
    }
    let scale = m.amax();
    let asym = (m - m.transpose()).amax();
    let min_eig = if dim == 0 {
        0.0
    } else {
        ((m + m.transpose()) * 0.5)
            .symmetric_eigenvalues()
            .iter()
            .fold(f64::INFINITY, |a, &b| a.min(b))
    };
    if asym > SYM_TOL * scale || min_eig < -PSD_TOL * scale {
        return Err(PlanError::NotPsd { bucket, what });
    }
    Ok(())
}

fn validate(buckets: &[PlanBucket], budget: Option<f64>) -> Result<(), PlanError> {
    if buckets.is_empty() {
        return Err(PlanError::NoBuckets);
    }
    for (k, b) in buckets.iter().enumerate() {
        // Each bucket is planned in its own coordinates (its scope), so dimensions may differ
        // between buckets but not within one.
        let dim = b.summed_info.nrows();
        check_matrix(&b.summed_info, dim, k, "summed information".into())?;
        if !(b.target > 0.0 && b.target.is_finite()) {
            return Err(PlanError::BadTarget {
                bucket: k,
                value: b.target,
            });
        }
        if !(b.harm >= 0.0 && b.harm.is_finite()) {
            return Err(PlanError::BadHarm {
                bucket: k,
                value: b.harm,
            });
        }
        for (r, arm) in b.arms.iter().enumerate() {
            check_matrix(&arm.info, dim, k, format!("information of arm {r}"))?;
            if !(arm.cost > 0.0 && arm.cost.is_finite()) {
                return Err(PlanError::BadCost {
                    bucket: k,
                    arm: r,
                    value: arm.cost,
                });
            }
        }
    }
    if let Some(b) = budget
        && !(b >= 0.0 && b.is_finite())
    {
        return Err(PlanError::BadBudget(b));
    }
    Ok(())
}

/// Validated bucket data.
struct Bucket {
    s: DMatrix<f64>,
    arms: Vec<DMatrix<f64>>,
    costs: Vec<f64>,
    target: f64,
    harm: f64,
    lambda0: f64,
}

/// One evaluation of V_k at a spend N: the value, a supergradient, and the cost shares.
#[derive(Clone)]
struct Eval {
    value: f64,
    slope: f64,
    shares: Vec<f64>,
}

impl Bucket {
    fn new(b: &PlanBucket) -> Bucket {
        let sym = |m: &DMatrix<f64>| (m + m.transpose()) * 0.5;
        let s = sym(&b.summed_info);
        let lambda0 = min_eig(&s);
        Bucket {
            s,
            arms: b.arms.iter().map(|a| sym(&a.info)).collect(),
            costs: b.arms.iter().map(|a| a.cost).collect(),
            target: b.target,
            harm: b.harm,
            lambda0,
        }
    }

    /// A scale for spends: what reaching the target would cost if the most informative arm
    /// per unit cost were aligned with the weakest direction (a lower bound of the real spend).
    fn reference_spend(&self) -> f64 {
        let best = self
            .arms
            .iter()
            .zip(&self.costs)
            .map(|(m, c)| {
                m.clone()
                    .symmetric_eigenvalues()
                    .iter()
                    .fold(0.0f64, |a, &b| a.max(b))
                    / c
            })
            .fold(0.0f64, f64::max);
        let short = (self.target - self.lambda0).max(1e-3 * self.target);
        if best > 0.0 { short / best } else { 1.0 }
    }

    fn lambda_with(&self, counts: &[f64]) -> f64 {
        let mut x = self.s.clone();
        for (m, &n) in self.arms.iter().zip(counts) {
            if n != 0.0 {
                x += m * n;
            }
        }
        min_eig(&x)
    }

    fn value_of(&self, lambda: f64) -> f64 {
        self.harm * (lambda / self.target).clamp(0.0, 1.0)
    }

    /// A bucket cannot reach its target when Σ_r M̂_r misses a direction along which S_k
    /// holds less than the target: λ_min then stays below the compression of S_k to the
    /// missed subspace, whatever the counts.
    fn unreachable(&self, k: usize) -> Option<Unreachable> {
        if self.lambda0 >= self.target {
            return None;
        }
        let d = self.s.nrows();
        let mut sum = DMatrix::zeros(d, d);
        for m in &self.arms {
            sum += m;
        }
        let eig = sum.symmetric_eigen();
        let top = eig.eigenvalues.iter().fold(0.0f64, |a, &b| a.max(b));
        let null: Vec<usize> = (0..d)
            .filter(|&i| eig.eigenvalues[i] <= NULL_TOL * top.max(f64::MIN_POSITIVE))
            .collect();
        if null.is_empty() {
            return None;
        }
        let q = DMatrix::from_fn(d, null.len(), |i, j| eig.eigenvectors[(i, null[j])]);
        let compressed = q.transpose() * &self.s * &q;
        let ce = compressed.symmetric_eigen();
        let mut j = 0;
        for i in 1..null.len() {
            if ce.eigenvalues[i] < ce.eigenvalues[j] {
                j = i;
            }
        }
        let ceiling = ce.eigenvalues[j];
        if ceiling > self.target * (1.0 + 1e-9) {
            return None;
        }
        let mut direction: Vec<f64> = (&q * ce.eigenvectors.column(j)).iter().copied().collect();
        fix_sign(&mut direction);
        let reason = if self.arms.is_empty() {
            format!(
                "bucket has no arms and λ_min {:.6e} is below the target {:.6e}",
                self.lambda0, self.target
            )
        } else {
            format!(
                "no arm moves direction {direction:.4?}: λ_min can approach at most {ceiling:.6e} < target {:.6e}; \
                 add an intervention that varies it",
                self.target
            )
        };
        Some(Unreachable {
            bucket: k,
            ceiling,
            direction,
            reason,
        })
    }
}

fn min_eig(m: &DMatrix<f64>) -> f64 {
    if m.nrows() == 0 {
        return f64::INFINITY;
    }
    m.clone()
        .symmetric_eigenvalues()
        .iter()
        .fold(f64::INFINITY, |a, &b| a.min(b))
}

/// Largest-magnitude component positive (first within 1e-12 of the largest).
fn fix_sign(v: &mut [f64]) {
    let largest = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if let Some(i) = v.iter().position(|x| x.abs() >= largest - 1e-12)
        && v[i] < 0.0
    {
        for x in v.iter_mut() {
            *x = -*x;
        }
    }
}

struct Planner {
    buckets: Vec<Bucket>,
    options: PlanOptions,
    solves: usize,
}

impl Planner {
    /// V_k(N) with its slope and the optimal cost shares.
    ///
    /// S_k enters the design as an arm pinned to weight 1/(1+N) (min mass and an average-cost
    /// cap that only it pays for), the arms as (1+N)·M̂_r/c_r: a mixture π then gives
    /// X = S_k + N Σ_r p_r M̂_r/c_r with cost shares p_r = π_r (1+N)/N. The slope is
    /// dV/dN = Σ_r p_r ⟨Z, M̂_r/c_r⟩ for the design's dual matrix Z (trace one) — a
    /// supergradient of the concave V_k.
    fn evaluate(&mut self, k: usize, spend: f64) -> Result<Eval, PlanError> {
        self.solves += 1;
        if self.solves > self.options.max_solves {
            return Err(PlanError::TooManySolves(self.options.max_solves));
        }
        let b = &self.buckets[k];
        let r = b.arms.len();
        // N = 0 is evaluated just above it, where the slope is defined: at a spend that
        // moves λ_min by about 1e-7 of the distance to the target.
        let n = if spend > 0.0 {
            spend
        } else {
            1e-7 * b.reference_spend()
        };
        let grow = 1.0 + n;
        let mut group = Vec::with_capacity(r + 1);
        group.push(&b.s * grow);
        for (m, &c) in b.arms.iter().zip(&b.costs) {
            group.push(m * (grow / c));
        }
        let mut costs = vec![0.0; r + 1];
        costs[0] = 1.0;
        let mut gamma = vec![0.0; r + 1];
        gamma[0] = 1.0 / grow;
        let problem = DesignProblem {
            matrices: vec![group],
            costs,
            budget: Some(1.0 / grow),
            min_mass: Some(gamma),
            criterion: Criterion::E,
        };
        let (outcome, dual) = solve_with_dual(&problem, &self.options.design)
            .map_err(|source| PlanError::Design { bucket: k, source })?;
        let DesignOutcome::Optimal(sol) = outcome else {
            // The pinned problem is feasible by construction.
            return Err(PlanError::Design {
                bucket: k,
                source: DesignError::Numerical("budget-plan subproblem reported infeasible"),
            });
        };
        let shares: Vec<f64> = sol.pi[1..]
            .iter()
            .map(|p| (p * grow / n).max(0.0))
            .collect();
        let slope = match dual.first() {
            Some(z) => b
                .arms
                .iter()
                .zip(&b.costs)
                .zip(&shares)
                .map(|((m, c), p)| p * m.dot(z) / c)
                .sum::<f64>()
                .max(0.0),
            None => 0.0,
        };
        Ok(Eval {
            value: if spend == 0.0 {
                b.lambda0
            } else {
                sol.objective
            },
            slope,
            shares,
        })
    }

    /// Continuous counts n_r = N p_r / c_r at spend N.
    fn counts_at(&mut self, k: usize, spend: f64) -> Result<Vec<f64>, PlanError> {
        if spend <= 0.0 || self.buckets[k].arms.is_empty() {
            return Ok(vec![0.0; self.buckets[k].arms.len()]);
        }
        let e = self.evaluate(k, spend)?;
        Ok(e.shares
            .iter()
            .zip(&self.buckets[k].costs)
            .map(|(p, c)| spend * p / c)
            .collect())
    }

    /// The least spend with V_k(N) ≥ T_k (0 when already met). Newton's method from below:
    /// V_k is concave, so its tangent overestimates it and every Newton iterate stays below
    /// the root while approaching it; a doubling search backs it up if the slope vanishes.
    fn spend_to_target(&mut self, k: usize) -> Result<f64, PlanError> {
        let b = &self.buckets[k];
        if b.lambda0 >= b.target || b.arms.is_empty() {
            return Ok(0.0);
        }
        let target = b.target;
        let tol = self.options.tol;
        let mut n = 0.0;
        let mut e = self.evaluate(k, 0.0)?;
        for _ in 0..200 {
            let short = target - e.value;
            if short <= tol * target {
                break;
            }
            let step = if e.slope > 0.0 {
                short / e.slope
            } else {
                f64::INFINITY
            };
            if !step.is_finite() {
                break;
            }
            let next = n + step;
            if next <= n * (1.0 + f64::EPSILON) {
                break;
            }
            n = next;
            e = self.evaluate(k, n)?;
        }
        if target - e.value <= tol * target {
            return Ok(n);
        }
        // Slow or stalled Newton: bracket by doubling and bisect.
        let mut lo = n;
        let mut hi = n.max(1.0);
        loop {
            let v = self.evaluate(k, hi)?.value;
            if v >= target {
                break;
            }
            lo = hi;
            hi *= 2.0;
        }
        while hi - lo > tol * hi {
            let mid = 0.5 * (lo + hi);
            if self.evaluate(k, mid)?.value >= target {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Ok(hi)
    }

    /// Continuous allocation of budget `budget` across buckets, equalizing marginal values.
    fn allocate(&mut self, budget: f64, blocked: &[bool]) -> Result<Vec<f64>, PlanError> {
        let kk = self.buckets.len();
        // Spend beyond which a bucket gains nothing: its spend to target, or the budget.
        let mut cap = vec![0.0; kk];
        for k in 0..kk {
            let b = &self.buckets[k];
            cap[k] = if b.harm == 0.0 || b.arms.is_empty() || b.lambda0 >= b.target {
                0.0
            } else if blocked[k] {
                // No plan reaches this bucket's target: labels there would buy coverage the
                // gate never credits, so it gets none (it is named as unreachable instead).
                0.0
            } else {
                self.spend_to_target(k)?.min(budget)
            };
        }
        let total: f64 = cap.iter().sum();
        if total <= budget {
            return Ok(cap);
        }
        // Marginal value of bucket k at spend N: h_k V_k'(N)/T_k while below target.
        let weight: Vec<f64> = self.buckets.iter().map(|b| b.harm / b.target).collect();
        let tol = self.options.tol;
        // Per-bucket N brackets, tightened as the common marginal value ν is bisected:
        // N_k(ν) is nonincreasing in ν.
        let mut n_lo = vec![0.0; kk];
        let mut n_hi = cap.clone();
        let mut nu_hi = 0.0f64;
        for k in 0..kk {
            if cap[k] > 0.0 {
                nu_hi = nu_hi.max(weight[k] * self.evaluate(k, 0.0)?.slope);
            }
        }
        let mut nu_lo = 0.0;
        // Σ_k N_k(ν_lo) ≥ B ≥ Σ_k N_k(ν_hi); n_hi bounds N_k(ν_lo) from above and n_lo
        // bounds N_k(ν_hi) from below.
        for _ in 0..200 {
            let width: f64 = n_hi.iter().zip(&n_lo).map(|(h, l)| h - l).sum();
            if nu_hi - nu_lo <= tol * nu_hi || width <= tol * budget {
                break;
            }
            let nu = 0.5 * (nu_lo + nu_hi);
            // Lazily bracket N_k(ν) in [a_k, b_k], refining the widest bracket only until the
            // side of Σ_k N_k(ν) against B is decided.
            let mut a = n_lo.clone();
            let mut b = n_hi.clone();
            let too_much = loop {
                let lo_sum: f64 = a.iter().sum();
                let hi_sum: f64 = b.iter().sum();
                if lo_sum > budget {
                    break true;
                }
                if hi_sum <= budget {
                    break false;
                }
                let mut widest = None;
                for k in 0..kk {
                    let w = b[k] - a[k];
                    if w > tol * cap[k] && widest.is_none_or(|(_, ww)| w > ww) {
                        widest = Some((k, w));
                    }
                }
                let Some((k, _)) = widest else {
                    break 0.5 * (lo_sum + hi_sum) > budget;
                };
                let mid = 0.5 * (a[k] + b[k]);
                if weight[k] * self.evaluate(k, mid)?.slope >= nu {
                    a[k] = mid;
                } else {
                    b[k] = mid;
                }
            };
            if too_much {
                // ν too low: later ν are higher, so later N_k are at most b_k.
                nu_lo = nu;
                n_hi = b;
            } else {
                nu_hi = nu;
                n_lo = a;
            }
        }
        // ν is now pinned to [ν_lo, ν_hi]. Per bucket, N_k(ν_hi) from below and N_k(ν_lo)
        // from above, to tolerance; they differ only where the marginal value is flat at ν*,
        // and there any split of the remaining budget is optimal: fill it in bucket order.
        let mut lower = vec![0.0; kk];
        let mut upper = vec![0.0; kk];
        for k in 0..kk {
            if cap[k] == 0.0 {
                continue;
            }
            for (nu, out) in [(nu_hi, &mut lower[k]), (nu_lo, &mut upper[k])] {
                let (mut lo, mut hi) = (n_lo[k], n_hi[k]);
                while hi - lo > tol * cap[k] {
                    let mid = 0.5 * (lo + hi);
                    if weight[k] * self.evaluate(k, mid)?.slope >= nu {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                *out = if nu == nu_lo { hi } else { lo };
            }
        }
        let mut out = lower;
        let mut left = budget - out.iter().sum::<f64>();
        for k in 0..kk {
            if left <= 0.0 {
                break;
            }
            let room = (upper[k] - out[k]).max(0.0);
            let add = room.min(left);
            out[k] += add;
            left -= add;
        }
        // Rounding in the sums: never allocate more than the budget.
        let total: f64 = out.iter().sum();
        if total > budget {
            for x in &mut out {
                *x *= budget / total;
            }
        }
        Ok(out)
    }

    /// Budget mode, exact within a neighbourhood: every integer plan whose counts are within
    /// [`NEIGHBOURHOOD`] labels of the continuous ones (per bucket, the Pareto frontier of cost
    /// against value; frontiers merged across buckets under the budget). `None` when the
    /// neighbourhood is too large to enumerate.
    fn neighbourhood_search(
        &self,
        continuous: &[Vec<f64>],
        budget: f64,
        blocked: &[bool],
    ) -> Option<Vec<Vec<u64>>> {
        // Frontier entries: (cost, value, counts per bucket so far).
        let mut merged: Vec<(f64, f64, Vec<Vec<u64>>)> = vec![(0.0, 0.0, Vec::new())];
        for (k, b) in self.buckets.iter().enumerate() {
            let ranges: Vec<(u64, u64)> = continuous[k]
                .iter()
                .map(|&x| {
                    if blocked[k] {
                        return (0, 0);
                    }
                    let lo = (x.max(0.0).floor() as u64).saturating_sub(NEIGHBOURHOOD);
                    (lo, x.max(0.0).ceil() as u64 + NEIGHBOURHOOD)
                })
                .collect();
            let size = ranges.iter().try_fold(1usize, |acc, (lo, hi)| {
                acc.checked_mul((hi - lo + 1) as usize)
            })?;
            if size > MAX_BOX {
                return None;
            }
            let mut plans: Vec<(f64, f64, Vec<u64>)> = Vec::with_capacity(size);
            let mut cur: Vec<u64> = ranges.iter().map(|r| r.0).collect();
            loop {
                let cost: f64 = cur.iter().zip(&b.costs).map(|(&n, c)| n as f64 * c).sum();
                if cost <= budget {
                    plans.push((cost, b.value_of(b.lambda_with(&as_f64(&cur))), cur.clone()));
                }
                // Odometer over the box.
                let mut i = 0;
                loop {
                    if i == cur.len() {
                        break;
                    }
                    if cur[i] < ranges[i].1 {
                        cur[i] += 1;
                        break;
                    }
                    cur[i] = ranges[i].0;
                    i += 1;
                }
                if i == cur.len() {
                    break;
                }
            }
            let frontier = pareto(plans);
            let mut next = Vec::new();
            for (c0, v0, counts) in &merged {
                for (c1, v1, n) in &frontier {
                    if c0 + c1 <= budget {
                        let mut all = counts.clone();
                        all.push(n.clone());
                        next.push((c0 + c1, v0 + v1, all));
                    }
                }
            }
            merged = pareto(next);
            if merged.len() > MAX_FRONTIER || merged.is_empty() {
                return None;
            }
        }
        merged
            .into_iter()
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.total_cmp(&a.0)))
            .map(|(_, _, counts)| counts)
    }

    /// Budget mode: add labels by best marginal value per cost while any fits, then apply
    /// single-label exchanges (one label out, one in) while one improves the objective.
    fn repair_budget(&self, counts: &mut [Vec<u64>], budget: f64, blocked: &[bool]) {
        let cost_of = |counts: &[Vec<u64>]| -> f64 {
            counts
                .iter()
                .zip(&self.buckets)
                .map(|(c, b)| {
                    c.iter()
                        .zip(&b.costs)
                        .map(|(&n, &cost)| n as f64 * cost)
                        .sum::<f64>()
                })
                .sum()
        };
        // Rounding down can only lower the cost, but guard against rounding in the sums.
        while cost_of(counts) > budget {
            let Some((k, r)) = self.most_expensive_label(counts) else {
                break;
            };
            counts[k][r] -= 1;
        }
        let values: Vec<f64> = self
            .buckets
            .iter()
            .zip(counts.iter())
            .map(|(b, c)| b.value_of(b.lambda_with(&as_f64(c))))
            .collect();
        let mut values = values;
        let mut exchanges = 0;
        for _ in 0..MAX_REPAIR_ROUNDS {
            let left = budget - cost_of(counts);
            // Best single addition by gain per cost.
            let mut best: Option<(f64, usize, usize, f64)> = None;
            for (k, b) in self.buckets.iter().enumerate() {
                if blocked[k] {
                    continue;
                }
                for r in 0..b.arms.len() {
                    if b.costs[r] > left {
                        continue;
                    }
                    counts[k][r] += 1;
                    let v = b.value_of(b.lambda_with(&as_f64(&counts[k])));
                    counts[k][r] -= 1;
                    let gain = v - values[k];
                    if gain > 0.0 && best.is_none_or(|(g, ..)| gain / b.costs[r] > g) {
                        best = Some((gain / b.costs[r], k, r, v));
                    }
                }
            }
            if let Some((_, k, r, v)) = best {
                counts[k][r] += 1;
                values[k] = v;
                continue;
            }
            // No addition fits or helps: try exchanging one label for another.
            exchanges += 1;
            if exchanges > MAX_EXCHANGES
                || !self.improve_by_exchange(counts, &mut values, budget, blocked, &cost_of)
            {
                break;
            }
        }
    }

    /// One best single-label exchange (one label out, one in) that raises the objective
    /// within the budget; only the one or two buckets involved are re-evaluated.
    fn improve_by_exchange(
        &self,
        counts: &mut [Vec<u64>],
        values: &mut [f64],
        budget: f64,
        blocked: &[bool],
        cost_of: &dyn Fn(&[Vec<u64>]) -> f64,
    ) -> bool {
        let current: f64 = values.iter().sum();
        let spent = cost_of(counts);
        // (gain, label out, label in).
        let mut best: Option<Exchange> = None;
        for (k, b) in self.buckets.iter().enumerate() {
            for r in 0..b.arms.len() {
                if counts[k][r] == 0 {
                    continue;
                }
                counts[k][r] -= 1;
                let out_value = b.value_of(b.lambda_with(&as_f64(&counts[k])));
                for (k2, b2) in self.buckets.iter().enumerate() {
                    if blocked[k2] {
                        continue;
                    }
                    for r2 in 0..b2.arms.len() {
                        if (k2, r2) == (k, r) || spent - b.costs[r] + b2.costs[r2] > budget {
                            continue;
                        }
                        counts[k2][r2] += 1;
                        let in_value = b2.value_of(b2.lambda_with(&as_f64(&counts[k2])));
                        counts[k2][r2] -= 1;
                        let gain = if k2 == k {
                            in_value - values[k]
                        } else {
                            out_value - values[k] + in_value - values[k2]
                        };
                        if gain > 1e-12 * current.abs().max(1.0)
                            && best.is_none_or(|(g, ..)| gain > g)
                        {
                            best = Some((gain, (k, r), (k2, r2)));
                        }
                    }
                }
                counts[k][r] += 1;
            }
        }
        let Some((_, (k, r), (k2, r2))) = best else {
            return false;
        };
        counts[k][r] -= 1;
        counts[k2][r2] += 1;
        for i in [k, k2] {
            let b = &self.buckets[i];
            values[i] = b.value_of(b.lambda_with(&as_f64(&counts[i])));
        }
        true
    }

    fn most_expensive_label(&self, counts: &[Vec<u64>]) -> Option<(usize, usize)> {
        let mut best: Option<(f64, usize, usize)> = None;
        for (k, b) in self.buckets.iter().enumerate() {
            for (r, &c) in b.costs.iter().enumerate() {
                if counts[k][r] > 0 && best.is_none_or(|(bc, ..)| c > bc) {
                    best = Some((c, k, r));
                }
            }
        }
        best.map(|(_, k, r)| (k, r))
    }

    /// Target mode: per bucket, the cheapest plan meeting the target among counts within
    /// [`NEIGHBOURHOOD`] labels of the continuous ones (when that box is small enough); then
    /// add labels (best λ gain per cost) until the target is met, and remove labels, dearest
    /// first, while it stays met.
    fn repair_targets(&self, counts: &mut [Vec<u64>], continuous: &[Vec<f64>], blocked: &[bool]) {
        for (k, b) in self.buckets.iter().enumerate() {
            if blocked[k] {
                counts[k].iter_mut().for_each(|c| *c = 0);
                continue;
            }
            if let Some(best) = self.cheapest_in_box(k, &continuous[k]) {
                counts[k] = best;
            }
            let met = |c: &[u64]| b.lambda_with(&as_f64(c)) >= b.target;
            for _ in 0..MAX_REPAIR_ROUNDS {
                if met(&counts[k]) || b.arms.is_empty() {
                    break;
                }
                let base = b.lambda_with(&as_f64(&counts[k]));
                let mut best: Option<(f64, usize)> = None;
                for r in 0..b.arms.len() {
                    counts[k][r] += 1;
                    let gain = b.lambda_with(&as_f64(&counts[k])) - base;
                    counts[k][r] -= 1;
                    if best.is_none_or(|(g, _)| gain / b.costs[r] > g) {
                        best = Some((gain / b.costs[r], r));
                    }
                }
                if let Some((_, r)) = best {
                    counts[k][r] += 1;
                }
            }
            let mut order: Vec<usize> = (0..b.arms.len()).collect();
            order.sort_by(|&x, &y| b.costs[y].total_cmp(&b.costs[x]).then(x.cmp(&y)));
            let mut changed = true;
            while changed {
                changed = false;
                for &r in &order {
                    while counts[k][r] > 0 {
                        counts[k][r] -= 1;
                        if met(&counts[k]) {
                            changed = true;
                        } else {
                            counts[k][r] += 1;
                            break;
                        }
                    }
                }
            }
        }
    }
}

impl Planner {
    /// The least-cost counts meeting bucket k's target within [`NEIGHBOURHOOD`] labels of
    /// `continuous` (ties: first in enumeration order); `None` if the box is too large or
    /// holds no plan meeting the target.
    fn cheapest_in_box(&self, k: usize, continuous: &[f64]) -> Option<Vec<u64>> {
        let b = &self.buckets[k];
        let ranges: Vec<(u64, u64)> = continuous
            .iter()
            .map(|&x| {
                let lo = (x.max(0.0).floor() as u64).saturating_sub(NEIGHBOURHOOD);
                (lo, x.max(0.0).ceil() as u64 + NEIGHBOURHOOD)
            })
            .collect();
        let size = ranges.iter().try_fold(1usize, |acc, (lo, hi)| {
            acc.checked_mul((hi - lo + 1) as usize)
        })?;
        if size > MAX_BOX {
            return None;
        }
        let mut best: Option<(f64, Vec<u64>)> = None;
        let mut cur: Vec<u64> = ranges.iter().map(|r| r.0).collect();
        loop {
            let cost: f64 = cur.iter().zip(&b.costs).map(|(&n, c)| n as f64 * c).sum();
            if best.as_ref().is_none_or(|(c, _)| cost < *c)
                && b.lambda_with(&as_f64(&cur)) >= b.target
            {
                best = Some((cost, cur.clone()));
            }
            let mut i = 0;
            while i < cur.len() {
                if cur[i] < ranges[i].1 {
                    cur[i] += 1;
                    break;
                }
                cur[i] = ranges[i].0;
                i += 1;
            }
            if i == cur.len() {
                break;
            }
        }
        best.map(|(_, c)| c)
    }
}

/// Plans not dominated in (lower cost, higher value), by increasing cost; ties keep the
/// first in enumeration order (deterministic).
fn pareto<T>(mut plans: Vec<(f64, f64, T)>) -> Vec<(f64, f64, T)> {
    plans.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let mut out: Vec<(f64, f64, T)> = Vec::new();
    for p in plans {
        if out.last().is_none_or(|last| p.1 > last.1) {
            out.push(p);
        }
    }
    out
}

/// A candidate single-label exchange: gain, (bucket, arm) out, (bucket, arm) in.
type Exchange = (f64, (usize, usize), (usize, usize));

fn as_f64(c: &[u64]) -> Vec<f64> {
    c.iter().map(|&n| n as f64).collect()
}
