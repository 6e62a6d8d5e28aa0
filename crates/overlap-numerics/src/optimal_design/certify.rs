//! Independent evaluation and certification of a mixture.
//!
//! Owns [`criterion_value`] and the post-solve checks: the criterion recomputed from π with a
//! dense eigensolver on the input matrices, the certified optimality gap (weak duality with a
//! dual matrix for E-type, the Frank–Wolfe gap for A and D, each maximized exactly over the
//! polytope), and the E-type certificate vectors. It must not trust any number the
//! interior-point methods report about themselves.

use nalgebra::DMatrix;

use super::linalg::{SortedEigen, fix_sign, mul_tr, sorted_eigen};
use super::lowrank::Prepared;
use super::polytope::Polytope;
use super::{Criterion, DesignError, DesignProblem, DesignSolution};

/// Eigenvalues at or below this multiple of d·ε·λ_max count as zero: X is singular, A is +∞
/// and D is −∞ (an exactly singular X computed in floating point has eigenvalues of that size,
/// not exact zeros).
const SINGULAR_EPS: f64 = 8.0 * f64::EPSILON;
/// Eigenvalues within this relative distance of the optimum value belong to the E certificate.
const CLUSTER_TOL: f64 = 1e-6;

/// The criterion of a mixture: λ_min (E), tr X⁻¹ (A, +∞ when X is singular), log det X
/// (D, −∞ when singular), min over groups of λ_min (E_robust), with X_g = Σ π_a M_a^g computed
/// densely and eigenvalues from nalgebra's `SymmetricEigen` (tiny negative eigenvalues of the
/// PSD sum are rounding and read as 0).
///
/// Errors when the shapes disagree, an entry is not finite, or E/A/D get several groups.
pub fn criterion_value(
    criterion: Criterion,
    matrices: &[Vec<DMatrix<f64>>],
    pi: &[f64],
) -> Result<f64, DesignError> {
    let groups = matrices.len();
    let first = matrices.first().ok_or(DesignError::Empty("groups"))?;
    let dim = first.first().ok_or(DesignError::Empty("arms"))?.nrows();
    if groups > 1 && criterion != Criterion::ERobust {
        return Err(DesignError::GroupsNotSupported { criterion, groups });
    }
    for (g, group) in matrices.iter().enumerate() {
        if group.len() != pi.len() {
            return Err(DesignError::LengthMismatch {
                what: "pi",
                expected: group.len(),
                got: pi.len(),
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
            if let Some(k) = m.iter().position(|v| !v.is_finite()) {
                return Err(DesignError::NonFiniteMatrix {
                    group: g,
                    arm: a,
                    row: k % dim,
                    col: k / dim,
                });
            }
        }
    }
    for (i, &p) in pi.iter().enumerate() {
        if !p.is_finite() {
            return Err(DesignError::BadEntry {
                what: "pi",
                index: i,
                value: p,
            });
        }
    }
    let eig: Vec<SortedEigen> = matrices
        .iter()
        .map(|group| sorted_eigen(&mix(group, pi)))
        .collect();
    Ok(value_of(criterion, &eig))
}

/// X = Σ π_a M_a, symmetrized.
pub(crate) fn mix(group: &[DMatrix<f64>], pi: &[f64]) -> DMatrix<f64> {
    let d = group[0].nrows();
    let mut x = DMatrix::zeros(d, d);
    for (m, &p) in group.iter().zip(pi) {
        if p != 0.0 {
            x.zip_apply(m, |a, b| *a += p * b);
        }
    }
    let xt = x.transpose();
    (x + xt) * 0.5
}

fn is_zero(lambda: f64, values: &[f64]) -> bool {
    let top = values.last().copied().unwrap_or(0.0).max(0.0);
    lambda <= SINGULAR_EPS * values.len() as f64 * top
}

fn value_of(criterion: Criterion, eig: &[SortedEigen]) -> f64 {
    match criterion {
        Criterion::E | Criterion::ERobust => eig
            .iter()
            .map(|e| e.values.first().copied().unwrap_or(0.0).max(0.0))
            .fold(f64::INFINITY, f64::min),
        Criterion::A => {
            let v = &eig[0].values;
            if v.iter().any(|&l| is_zero(l, v)) {
                f64::INFINITY
            } else {
                v.iter().map(|l| 1.0 / l).sum()
            }
        }
        Criterion::D => {
            let v = &eig[0].values;
            if v.iter().any(|&l| is_zero(l, v)) {
                f64::NEG_INFINITY
            } else {
                v.iter().map(|l| l.ln()).sum()
            }
        }
    }
}

/// A feasible mixture evaluated on the input matrices.
pub(crate) struct Evaluated {
    pub pi: Vec<f64>,
    pub objective: f64,
    pub eig: Vec<SortedEigen>,
}

pub(crate) fn evaluate(problem: &DesignProblem, pi: Vec<f64>) -> Evaluated {
    let eig: Vec<SortedEigen> = problem
        .matrices
        .iter()
        .map(|group| sorted_eigen(&mix(group, &pi)))
        .collect();
    let objective = value_of(problem.criterion, &eig);
    Evaluated { pi, objective, eig }
}

/// Certified gap of an E-type mixture from dual matrices Z_g ⪰ 0 (any positive scale):
/// for every feasible π, min_g λ_min(X_g(π)) ≤ Σ_g ⟨Z_g, X_g(π)⟩ / Σ_g tr Z_g, and the right
/// side is linear in π, so its exact maximum over the polytope bounds the optimum.
pub(crate) fn e_gap(prep: &Prepared, poly: &Polytope, z: &[DMatrix<f64>], objective: f64) -> f64 {
    let total: f64 = z.iter().map(|zg| zg.trace()).sum();
    if !(total > 0.0 && total.is_finite()) {
        return f64::INFINITY;
    }
    let mut v = vec![0.0; poly.arms()];
    for (f, zg) in prep.unscaled.iter().zip(z) {
        for (acc, x) in v.iter_mut().zip(f.inner(zg)) {
            *acc += x / total;
        }
    }
    (poly.max_linear(&v) - objective).max(0.0)
}

/// Frank–Wolfe gap of an A or D mixture: the criterion is convex (A) or concave (D) in π, so
/// its linearization at π, maximized exactly over the polytope, bounds the optimum.
pub(crate) fn smooth_gap(
    prep: &Prepared,
    poly: &Polytope,
    criterion: Criterion,
    ev: &Evaluated,
) -> f64 {
    let e = &ev.eig[0];
    if e.values.iter().any(|&l| is_zero(l, &e.values)) {
        return f64::INFINITY;
    }
    // D: g_a = ⟨X⁻¹, M_a⟩; A: h_a = ⟨X⁻², M_a⟩ (the gradient of −tr X⁻¹).
    let power = if criterion == Criterion::A { 2 } else { 1 };
    let mut scaled = e.vectors.clone();
    for (k, &l) in e.values.iter().enumerate() {
        scaled.column_mut(k).scale_mut(1.0 / l.powi(power));
    }
    let y = mul_tr(&scaled, &e.vectors);
    let g = prep.unscaled[0].inner(&y);
    let at_pi: f64 = g.iter().zip(&ev.pi).map(|(a, b)| a * b).sum();
    (poly.max_linear(&g) - at_pi).max(0.0)
}

/// Assemble the solution record from an evaluated mixture and its gap.
pub(crate) fn finish(
    problem: &DesignProblem,
    ev: Evaluated,
    gap: f64,
    iterations: usize,
) -> DesignSolution {
    let cost = ev.pi.iter().zip(&problem.costs).map(|(p, c)| p * c).sum();
    let mut certificate = Vec::new();
    let mut certificate_groups = Vec::new();
    if matches!(problem.criterion, Criterion::E | Criterion::ERobust) {
        let cut = ev.objective + CLUSTER_TOL * ev.objective.abs().max(1.0);
        for (g, e) in ev.eig.iter().enumerate() {
            for (k, &l) in e.values.iter().enumerate() {
                if l <= cut {
                    let mut v: Vec<f64> = e.vectors.column(k).iter().copied().collect();
                    fix_sign(&mut v);
                    certificate.push(v);
                    certificate_groups.push(g);
                }
            }
        }
    }
    DesignSolution {
        info_eigenvalues: ev.eig.iter().map(|e| e.values.clone()).collect(),
        pi: ev.pi,
        objective: ev.objective,
        cost,
        iterations,
        gap,
        certificate,
        certificate_groups,
    }
}
