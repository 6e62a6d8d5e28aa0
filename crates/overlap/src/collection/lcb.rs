//! The lower confidence bound on an arm's information matrix used by the `lcb` strategy.
//!
//! Owns [`lower_bound`]: M̂_r shrunk by a matrix-Bernstein radius that falls like 1/√n_r and
//! clipped to the PSD cone. Pure; it knows nothing about arms' names or costs.
//!
//! The bound. Each comparison t of arm r contributes X_t = g(ŵᵀx_t) x_t x_tᵀ, a PSD matrix with
//! ‖X_t‖ = g_t‖x_t‖² ≤ L (L is the largest such norm among the arm's comparisons) and
//! ‖E X_t²‖ ≤ L‖M_r‖. Matrix Bernstein for the mean of n independent such terms (Tropp 2015,
//! *An Introduction to Matrix Concentration Inequalities*, Thm 6.1.1, two-sided, dimension d) gives,
//! with probability at least 1 − δ,
//!
//! ‖M̂_r − M_r‖ ≤ r_n = sqrt(2·L·‖M_r‖·ℓ / n) + 2·L·ℓ / (3n),   ℓ = ln(2d/δ).
//!
//! The plug-in uses ‖M̂_r‖ for ‖M_r‖ and the observed L, and a user scale c multiplies r_n. Then
//! M_r ⪰ M̂_r − r_n·I; the returned bound is that matrix with negative eigenvalues set to 0 (an
//! information matrix is PSD), i.e. each eigenvalue of M̂_r lowered by r_n and clipped at 0. When
//! every eigenvalue is clipped the arm's information cannot be told apart from nothing at this
//! confidence: the caller treats such an arm as unresolved and keeps giving it pilot labels, which
//! is how arms with few labels keep being explored.

use nalgebra::DMatrix;

use crate::numerics::eigen::{EigenError, sym_eigen};

/// Confidence settings of the `lcb` strategy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LcbOptions {
    /// δ: the bound holds with probability at least 1 − δ per arm.
    pub delta: f64,
    /// c: multiplies the Bernstein radius (1 = the bound as stated).
    pub scale: f64,
}

impl Default for LcbOptions {
    fn default() -> Self {
        LcbOptions {
            delta: 0.05,
            scale: 1.0,
        }
    }
}

/// An arm's lower confidence bound and the radius subtracted.
#[derive(Debug, Clone)]
pub struct LowerBound {
    pub matrix: DMatrix<f64>,
    pub radius: f64,
    /// Every eigenvalue was clipped: the bound is the zero matrix.
    pub vanished: bool,
}

/// The Bernstein radius r_n for an arm with `n` comparisons, largest per-comparison norm `peak`
/// (L) and spectral norm `norm` (‖M̂_r‖) in dimension `d`.
pub fn radius(n: u64, peak: f64, norm: f64, d: usize, options: &LcbOptions) -> f64 {
    if n == 0 {
        return f64::INFINITY;
    }
    let n = n as f64;
    let ell = (2.0 * d.max(1) as f64 / options.delta).ln();
    options.scale * ((2.0 * peak * norm * ell / n).sqrt() + 2.0 * peak * ell / (3.0 * n))
}

/// max(M̂ − r·I, 0) in the eigenbasis of M̂ (see the module docs).
pub fn lower_bound(
    matrix: &DMatrix<f64>,
    n: u64,
    peak: f64,
    options: &LcbOptions,
) -> Result<LowerBound, EigenError> {
    let eig = sym_eigen(matrix)?;
    let d = eig.dim();
    let r = radius(n, peak, eig.lambda_max().max(0.0), d, options);
    let mut out = DMatrix::zeros(d, d);
    let mut kept = 0;
    for (k, &value) in eig.values.iter().enumerate() {
        let shrunk = value - r;
        if shrunk > 0.0 {
            kept += 1;
            let v = eig.vectors.column(k);
            out += (v * v.transpose()) * shrunk;
        }
    }
    // Rank-one updates in floating point leave the result symmetric only to rounding.
    let sym = (&out + out.transpose()) * 0.5;
    Ok(LowerBound {
        matrix: sym,
        radius: r,
        vanished: kept == 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radius_shrinks_like_one_over_root_n() {
        let o = LcbOptions::default();
        let r100 = radius(100, 1.0, 0.5, 2, &o);
        let r10000 = radius(10_000, 1.0, 0.5, 2, &o);
        // The 1/n term is already small at n = 100, so the ratio is close to √100 = 10.
        assert!(
            r100 / r10000 > 9.0 && r100 / r10000 < 12.0,
            "{r100} {r10000}"
        );
        assert!(radius(0, 1.0, 0.5, 2, &o).is_infinite());
    }

    #[test]
    fn bound_lowers_every_eigenvalue_and_clips_at_zero() {
        let m = DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, 0.01]);
        let o = LcbOptions::default();
        let lb = lower_bound(&m, 1000, 1.0, &o).unwrap();
        assert!(lb.radius > 0.01, "radius {}", lb.radius);
        assert!((lb.matrix[(0, 0)] - (1.0 - lb.radius)).abs() < 1e-12);
        assert_eq!(lb.matrix[(1, 1)], 0.0);
        assert!(!lb.vanished);
        let few = lower_bound(&m, 3, 4.0, &o).unwrap();
        assert!(few.vanished);
        assert!(few.matrix.iter().all(|v| *v == 0.0));
    }
}
