//! Optimal intervention mixtures (DESIGN.md §2 "Optimal design").
//!
//! Owns the E-, A-, D- and group-robust E-optimal design problems over mixtures π of arms with
//! per-arm information matrices `M_a^g`: π ≥ min_mass, Σπ = 1 and an optional average-cost cap
//! Σ c_a π_a ≤ budget. Entry points: [`solve_design`] (status, optimal π, certified gap) and
//! [`criterion_value`] (the criterion of any mixture, e.g. the current empirical one).
//!
//! How it works: the status is decided exactly from the polytope (`polytope`: infeasible iff
//! Σγ > 1 or the budget is below Σγ_a c_a + (1 − Σγ)·min c); the matrices are factored once
//! into low-rank factors `M_a = L_a L_aᵀ` (`lowrank`) and scaled to unit size; E and E_robust
//! are solved by a primal–dual interior-point method with Nesterov–Todd scaling on the
//! epigraph `Σ π_a M_a^g − τI ⪰ 0` (`conic`), A and D by a primal–dual interior-point method
//! for a smooth convex objective over the polytope (`smooth`). Both run on a shrinking
//! working set of arms: arms the iterates show to be at their lower bound are dropped while
//! the method runs, and every dropped arm is priced again at the end. Whatever the method
//! did, the answer is certified independently (`certify`): the objective is recomputed from π
//! with a dense eigensolver, and the optimality gap is an exact bound — weak duality for
//! E-type (the dual matrices Z_g and an exact LP over the polytope), the Frank–Wolfe gap for
//! A and D — so a reported gap is never the solver's own estimate, and a solve that cannot
//! certify `tol` is an error ([`DesignError::NotConverged`]), never a silent answer.
//!
//! Degenerate inputs: duplicate arms and non-unique optima are fine (any optimal π is
//! returned); E-type with λ_min = 0 at every π (the arms and min masses miss a direction)
//! returns objective 0 with the null direction as certificate; A and D with X(π) singular at
//! every π return [`DesignError::Singular`] naming the unidentified direction (their
//! objectives would be +∞ / −∞ everywhere, so there is nothing to optimize).
//!
//! It must not do I/O, print, or know about datasets or registries: matrices in, mixture out.

mod certify;
mod conic;
mod linalg;
mod lowrank;
mod polytope;
mod smooth;

use nalgebra::DMatrix;
use thiserror::Error;

pub use certify::criterion_value;

/// Which functional of the information matrix X(π) = Σ π_a M_a the mixture optimizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Criterion {
    /// Maximize λ_min(X(π)) (one group).
    E,
    /// Minimize tr(X(π)⁻¹) (one group).
    A,
    /// Maximize log det X(π), natural log (one group).
    D,
    /// Maximize min over groups g of λ_min(X_g(π)).
    ERobust,
}

impl Criterion {
    /// `true` when larger criterion values are better (all but A).
    pub fn maximizes(self) -> bool {
        !matches!(self, Criterion::A)
    }

    /// Stable lowercase name used in messages (`e`, `a`, `d`, `e_robust`).
    pub fn name(self) -> &'static str {
        match self {
            Criterion::E => "e",
            Criterion::A => "a",
            Criterion::D => "d",
            Criterion::ERobust => "e_robust",
        }
    }
}

impl std::fmt::Display for Criterion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One design problem. `matrices[g][a]` is the d×d information matrix of arm `a` in group `g`
/// (one group unless the criterion is [`Criterion::ERobust`]); `costs[a]` ≥ 0 is the cost of one
/// comparison in arm `a`; `budget` caps the average cost Σ c_a π_a; `min_mass[a]` is the lower
/// bound γ_a on π_a (`None` means all zero).
#[derive(Debug, Clone, PartialEq)]
pub struct DesignProblem {
    pub matrices: Vec<Vec<DMatrix<f64>>>,
    pub costs: Vec<f64>,
    pub budget: Option<f64>,
    pub min_mass: Option<Vec<f64>>,
    pub criterion: Criterion,
}

/// Explicit accuracy and effort of the solve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolverOptions {
    /// Target for the certified optimality gap, relative: gap ≤ tol · max(1, |objective|).
    /// The default 1e-9 is what the conformance π tolerances assume (E-optima are flat: π moves
    /// like the square root of the objective error).
    pub tol: f64,
    /// Cap on interior-point iterations, summed over working-set rounds.
    pub max_iterations: usize,
}

impl Default for SolverOptions {
    fn default() -> Self {
        SolverOptions {
            tol: 1e-9,
            max_iterations: 200,
        }
    }
}

/// Result of a solve whose inputs were valid.
#[derive(Debug, Clone, PartialEq)]
pub enum DesignOutcome {
    Optimal(DesignSolution),
    /// No mixture satisfies the constraints. `cheapest_cost` is the smallest budget that would
    /// be feasible with these min masses (`None` when the min masses alone sum above 1).
    Infeasible {
        cheapest_cost: Option<f64>,
        reason: String,
    },
}

/// An optimal mixture with its certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct DesignSolution {
    /// The mixture, in the order of the arms; always feasible (π_a ≥ γ_a, Σπ = 1 to rounding,
    /// Σ c_a π_a ≤ budget).
    pub pi: Vec<f64>,
    /// Criterion value at `pi`, recomputed from the input matrices with a dense eigensolver
    /// (λ_min, tr X⁻¹ or log det as the criterion says).
    pub objective: f64,
    /// Σ c_a π_a.
    pub cost: f64,
    /// Interior-point iterations, summed over working-set rounds.
    pub iterations: usize,
    /// Certified optimality gap (absolute, ≥ 0): no feasible mixture beats `objective` by more.
    pub gap: f64,
    /// Eigenvalues of X_g(π) per group, ascending.
    pub info_eigenvalues: Vec<Vec<f64>>,
    /// E and E_robust: unit eigenvectors of X_g(π) for the eigenvalues at the optimum value
    /// (within 1e-6 relative, so a multiple λ_min gives several), the directions the design
    /// cannot improve; sign fixed so that the largest-magnitude component is positive. Empty
    /// for A and D, whose optimality certificate is the gradient condition behind `gap`.
    pub certificate: Vec<Vec<f64>>,
    /// For each vector of `certificate`, the group whose matrix it belongs to.
    pub certificate_groups: Vec<usize>,
}

/// Invalid input or a solve that did not reach its tolerance.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DesignError {
    #[error("design problem has no {0}")]
    Empty(&'static str),
    #[error(
        "criterion {criterion} takes one group of matrices, got {groups}; use e_robust for several groups"
    )]
    GroupsNotSupported { criterion: Criterion, groups: usize },
    #[error("group {group} has {got} arms, expected {expected} (every group lists every arm)")]
    ArmCountMismatch {
        group: usize,
        expected: usize,
        got: usize,
    },
    #[error("matrix of arm {arm} in group {group} is {rows}x{cols}, expected {dim}x{dim}")]
    Shape {
        group: usize,
        arm: usize,
        rows: usize,
        cols: usize,
        dim: usize,
    },
    #[error("matrix of arm {arm} in group {group} has a non-finite entry at ({row}, {col})")]
    NonFiniteMatrix {
        group: usize,
        arm: usize,
        row: usize,
        col: usize,
    },
    #[error("matrix of arm {arm} in group {group} is not symmetric (|M - Mᵀ| up to {asymmetry:e})")]
    NotSymmetric {
        group: usize,
        arm: usize,
        asymmetry: f64,
    },
    #[error(
        "matrix of arm {arm} in group {group} is not positive semidefinite (eigenvalue {eigenvalue:e})"
    )]
    NotPsd {
        group: usize,
        arm: usize,
        eigenvalue: f64,
    },
    #[error("{what} has {got} entries, expected one per arm ({expected})")]
    LengthMismatch {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("{what}[{index}] = {value} is invalid: it must be finite and non-negative")]
    BadEntry {
        what: &'static str,
        index: usize,
        value: f64,
    },
    #[error("budget {0} is not finite")]
    BadBudget(f64),
    #[error("solver options are invalid: tol {tol} must be in (0, 1) and max_iterations positive")]
    BadOptions { tol: f64, max_iterations: usize },
    #[error(
        "criterion {criterion} is undefined: the information matrix has rank {rank} < {dim} at every feasible mixture, \
         so no arm moves direction {null_direction:?}; add an arm that varies it or use the e criterion"
    )]
    Singular {
        criterion: Criterion,
        rank: usize,
        dim: usize,
        null_direction: Vec<f64>,
    },
    #[error(
        "design solver did not converge: certified gap {gap:e} above the target {target:e} after {iterations} iterations; \
         raise max_iterations or loosen tol"
    )]
    NotConverged {
        iterations: usize,
        gap: f64,
        target: f64,
    },
    #[error(
        "numerical failure in the design solver ({0}); the problem is too ill-conditioned to certify"
    )]
    Numerical(&'static str),
}

/// Solve a design problem: the exact status, and for a feasible problem a certified optimal
/// mixture (see the module docs for the method and the certificate).
///
/// Errors: invalid input (shape, non-finite, asymmetric or indefinite matrices, bad costs, min
/// masses, budget or options), A or D when X(π) is singular at every feasible mixture
/// ([`DesignError::Singular`]), and a solve whose certified gap misses `tol`
/// ([`DesignError::NotConverged`]) — never a silently inaccurate answer.
pub fn solve_design(
    problem: &DesignProblem,
    options: &SolverOptions,
) -> Result<DesignOutcome, DesignError> {
    solve_with_dual(problem, options).map(|(outcome, _)| outcome)
}

/// [`solve_design`], also returning for E and E_robust the optimal dual matrices Z_g ⪰ 0
/// (Σ_g tr Z_g = 1) behind the certificate: the gradient of the optimum value with respect
/// to the matrices (used by the budget planner for marginal values). Empty otherwise.
pub(crate) fn solve_with_dual(
    problem: &DesignProblem,
    options: &SolverOptions,
) -> Result<(DesignOutcome, Vec<DMatrix<f64>>), DesignError> {
    if !(options.tol > 0.0 && options.tol < 1.0) || options.max_iterations == 0 {
        return Err(DesignError::BadOptions {
            tol: options.tol,
            max_iterations: options.max_iterations,
        });
    }
    let dims = validate(problem)?;
    let poly = match polytope::Polytope::decide(
        &problem.costs,
        problem.min_mass.as_deref(),
        problem.budget,
        dims.arms,
    )? {
        polytope::Feasibility::Feasible(p) => p,
        polytope::Feasibility::Infeasible {
            cheapest_cost,
            reason,
        } => {
            return Ok((
                DesignOutcome::Infeasible {
                    cheapest_cost,
                    reason,
                },
                Vec::new(),
            ));
        }
    };
    let prepared = lowrank::Prepared::new(&problem.matrices, &poly)?;
    let (run, dual) = match problem.criterion {
        Criterion::E | Criterion::ERobust => conic::solve(&prepared, &poly, problem, options)?,
        Criterion::A | Criterion::D => (
            smooth::solve(&prepared, &poly, problem, options)?,
            Vec::new(),
        ),
    };
    Ok((DesignOutcome::Optimal(run), dual))
}

/// Sizes of a validated problem.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dims {
    pub arms: usize,
}

/// Arms to add before the next working-set round: those the dual prices as improving, or —
/// when none does although the gap misses its target on the first (shrinking) round — every
/// allowed arm outside the set. With a cost cap the exact LP can gain by mixing two arms that
/// the run's multipliers price just short of improving, so the set is restored whole.
pub(crate) fn arms_to_add(
    priced: Vec<usize>,
    shrinking: bool,
    set: &[usize],
    allowed: &[usize],
) -> Vec<usize> {
    if priced.is_empty() && shrinking && set.len() < allowed.len() {
        return allowed
            .iter()
            .copied()
            .filter(|a| !set.contains(a))
            .collect();
    }
    priced
}

/// Check shapes, finiteness, symmetry and the group count; PSD-ness is checked when factoring.
fn validate(problem: &DesignProblem) -> Result<Dims, DesignError> {
    let groups = problem.matrices.len();
    let first = problem
        .matrices
        .first()
        .ok_or(DesignError::Empty("groups"))?;
    let arms = first.len();
    if arms == 0 {
        return Err(DesignError::Empty("arms"));
    }
    let dim = first[0].nrows();
    if dim == 0 {
        return Err(DesignError::Empty("dimensions"));
    }
    if groups > 1 && problem.criterion != Criterion::ERobust {
        return Err(DesignError::GroupsNotSupported {
            criterion: problem.criterion,
            groups,
        });
    }
    for (g, group) in problem.matrices.iter().enumerate() {
        if group.len() != arms {
            return Err(DesignError::ArmCountMismatch {
                group: g,
                expected: arms,
                got: group.len(),
            });
        }
        for (a, m) in group.iter().enumerate() {
            if m.nrows() != dim || m.ncols() != dim {
                return Err(DesignError::Shape {
                    group: g,
                    arm: a,
                    rows: m.nrows(),
                    cols: m.ncols(),
                    dim,
                });
            }
            let values = m.as_slice();
            if let Some(k) = values.iter().position(|v| !v.is_finite()) {
                return Err(DesignError::NonFiniteMatrix {
                    group: g,
                    arm: a,
                    row: k % dim,
                    col: k / dim,
                });
            }
            // Finite from here on, so plain comparisons (no NaN-aware max chains).
            let max_abs = values
                .iter()
                .fold(0.0f64, |acc, v| if v.abs() > acc { v.abs() } else { acc });
            let mut asym = 0.0f64;
            for j in 0..dim {
                for i in j + 1..dim {
                    let diff = (values[j * dim + i] - values[i * dim + j]).abs();
                    if diff > asym {
                        asym = diff;
                    }
                }
            }
            // Relative 1e-10: summed information built in floating point is symmetric to
            // rounding; anything larger is a caller bug (e.g. a transposed half).
            if asym > 1e-10 * max_abs {
                return Err(DesignError::NotSymmetric {
                    group: g,
                    arm: a,
                    asymmetry: asym,
                });
            }
        }
    }
    if problem.costs.len() != arms {
        return Err(DesignError::LengthMismatch {
            what: "costs",
            expected: arms,
            got: problem.costs.len(),
        });
    }
    for (i, &c) in problem.costs.iter().enumerate() {
        if !(c.is_finite() && c >= 0.0) {
            return Err(DesignError::BadEntry {
                what: "costs",
                index: i,
                value: c,
            });
        }
    }
    if let Some(gamma) = &problem.min_mass {
        if gamma.len() != arms {
            return Err(DesignError::LengthMismatch {
                what: "min_mass",
                expected: arms,
                got: gamma.len(),
            });
        }
        for (i, &g) in gamma.iter().enumerate() {
            if !(g.is_finite() && g >= 0.0) {
                return Err(DesignError::BadEntry {
                    what: "min_mass",
                    index: i,
                    value: g,
                });
            }
        }
    }
    if let Some(b) = problem.budget
        && !b.is_finite()
    {
        return Err(DesignError::BadBudget(b));
    }
    Ok(Dims { arms })
}
