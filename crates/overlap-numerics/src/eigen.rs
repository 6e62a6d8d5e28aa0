//! Symmetric eigen-decomposition with the project's conventions.
//!
//! This module owns how every eigen-quantity the tool reports is computed: eigenvalues in ascending
//! order, unit eigenvectors with a deterministic sign (DESIGN.md §2 `weakest_direction`), the
//! "unidentified" rule (λ_min ≤ 1e-12·λ_max) and the condition number that follows from it.
//! Entry points: [`sym_eigen`], [`SymEigen`], [`condition_number`], [`is_identified`],
//! [`apply_sign_convention`]. It checks its input (square, finite, symmetric) and never returns
//! NaN or infinity; it does not decide what a small eigenvalue *means* for a dataset (that is the
//! analysis layer's job) and does no I/O.

use nalgebra::{DMatrix, SymmetricEigen};
use thiserror::Error;

/// λ_min ≤ `UNIDENTIFIED_RATIO`·λ_max marks a matrix as unidentified (DESIGN.md §2,
/// `condition_number`). At this ratio the smallest eigenvalue is within a few thousand rounding
/// errors of zero for a double-precision decomposition of a well-scaled matrix, so it cannot be
/// told apart from an exact null direction.
pub const UNIDENTIFIED_RATIO: f64 = 1e-12;

/// Components within this distance of the largest |component| tie for the sign convention
/// (conformance/README.md "Sign convention").
pub const SIGN_TIE_TOLERANCE: f64 = 1e-12;

/// Entries may differ from their transpose by this much relative to the largest |entry| before a
/// matrix is rejected as not symmetric. Accumulating xxᵀ in a different order, or averaging two
/// symmetric matrices, leaves differences of a few ulps; anything larger is a caller bug.
const SYMMETRY_TOLERANCE: f64 = 1e-12;

/// Sweeps allowed to the QR iteration before reporting non-convergence. nalgebra needs a handful
/// per eigenvalue; this bound only guards against an endless loop.
const MAX_QR_ITERATIONS: usize = 100_000;

/// Why a matrix could not be decomposed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum EigenError {
    #[error("cannot decompose an empty matrix")]
    Empty,
    #[error("matrix is not square: {rows}×{cols}")]
    NotSquare { rows: usize, cols: usize },
    #[error("matrix entry ({row}, {col}) is not finite: {value}")]
    NonFinite { row: usize, col: usize, value: f64 },
    #[error(
        "matrix is not symmetric: entries ({row}, {col}) and ({col}, {row}) differ by {difference:e}"
    )]
    NotSymmetric {
        row: usize,
        col: usize,
        difference: f64,
    },
    #[error("the symmetric eigenvalue iteration did not converge")]
    NoConvergence,
}

/// Eigen-decomposition of a real symmetric matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct SymEigen {
    /// Eigenvalues in ascending order.
    pub values: Vec<f64>,
    /// Column `k` is the unit eigenvector of `values[k]`, signed by [`apply_sign_convention`].
    pub vectors: DMatrix<f64>,
}

impl SymEigen {
    /// Dimension of the decomposed matrix (at least 1).
    pub fn dim(&self) -> usize {
        self.values.len()
    }

    /// Smallest eigenvalue, as computed (may be a tiny negative number for a PSD matrix).
    pub fn lambda_min(&self) -> f64 {
        self.values.first().copied().unwrap_or(0.0)
    }

    /// Largest eigenvalue.
    pub fn lambda_max(&self) -> f64 {
        self.values.last().copied().unwrap_or(0.0)
    }

    /// Smallest eigenvalue of a matrix known to be positive semi-definite, with rounding noise
    /// below zero clamped to 0 so that `sqrt`/`log`/division downstream stay meaningful.
    pub fn psd_lambda_min(&self) -> f64 {
        self.lambda_min().max(0.0)
    }

    /// The unit eigenvector of eigenvalue `k` (ascending order), sign-fixed; `None` out of range.
    pub fn vector(&self, k: usize) -> Option<Vec<f64>> {
        (k < self.dim()).then(|| self.vectors.column(k).iter().copied().collect())
    }

    /// The sign-fixed unit eigenvector of λ_min (the weakest direction).
    pub fn min_vector(&self) -> Vec<f64> {
        self.vector(0).unwrap_or_default()
    }

    /// λ_max/λ_min, or `None` when the matrix is unidentified (see [`condition_number`]).
    pub fn condition_number(&self) -> Option<f64> {
        condition_number(self.lambda_min(), self.lambda_max())
    }

    /// Whether λ_min > 1e-12·λ_max (see [`is_identified`]).
    pub fn is_identified(&self) -> bool {
        is_identified(self.lambda_min(), self.lambda_max())
    }
}

/// Whether a PSD matrix with these extreme eigenvalues is identified: λ_max > 0 and
/// λ_min > [`UNIDENTIFIED_RATIO`]·λ_max. Non-finite inputs are never identified.
pub fn is_identified(lambda_min: f64, lambda_max: f64) -> bool {
    lambda_min.is_finite()
        && lambda_max.is_finite()
        && lambda_max > 0.0
        && lambda_min > UNIDENTIFIED_RATIO * lambda_max
}

/// Condition number λ_max/λ_min of a PSD matrix; `None` (never inf or NaN) when the matrix is
/// unidentified in the sense of [`is_identified`].
pub fn condition_number(lambda_min: f64, lambda_max: f64) -> Option<f64> {
    is_identified(lambda_min, lambda_max).then(|| lambda_max / lambda_min)
}

/// Fix the sign of a vector in place: with i* the smallest index such that
/// |v_i*| ≥ max_j |v_j| − 1e-12, flip the vector so that v_i* > 0. Ties between components of equal
/// magnitude (e.g. (e₀ − e₁)/√2) thus resolve to the first one, which makes the reported direction
/// reproducible across platforms whose rounding differs in the last bits. A zero vector is left
/// unchanged.
pub fn apply_sign_convention(v: &mut [f64]) {
    let largest = v.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
    let pivot = v
        .iter()
        .copied()
        .find(|x| x.abs() >= largest - SIGN_TIE_TOLERANCE);
    if pivot.is_some_and(|p| p < 0.0) {
        v.iter_mut().for_each(|x| *x = -*x);
    }
}

/// Decompose a real symmetric matrix: eigenvalues ascending, unit eigenvectors sign-fixed.
///
/// The matrix must be square, non-empty, finite and symmetric to within 1e-12 of its largest
/// entry; it is symmetrised ((A + Aᵀ)/2) before the decomposition so both triangles count.
pub fn sym_eigen(m: &DMatrix<f64>) -> Result<SymEigen, EigenError> {
    let (rows, cols) = m.shape();
    if rows != cols {
        return Err(EigenError::NotSquare { rows, cols });
    }
    if rows == 0 {
        return Err(EigenError::Empty);
    }
    let mut scale = 0.0_f64;
    for row in 0..rows {
        for col in 0..cols {
            let value = m[(row, col)];
            if !value.is_finite() {
                return Err(EigenError::NonFinite { row, col, value });
            }
            scale = scale.max(value.abs());
        }
    }
    for row in 0..rows {
        for col in (row + 1)..cols {
            let difference = (m[(row, col)] - m[(col, row)]).abs();
            if difference > SYMMETRY_TOLERANCE * scale {
                return Err(EigenError::NotSymmetric {
                    row,
                    col,
                    difference,
                });
            }
        }
    }
    let symmetric = DMatrix::from_fn(rows, cols, |i, j| 0.5 * (m[(i, j)] + m[(j, i)]));
    let decomposition = SymmetricEigen::try_new(symmetric, f64::EPSILON, MAX_QR_ITERATIONS)
        .ok_or(EigenError::NoConvergence)?;

    let mut order: Vec<usize> = (0..rows).collect();
    // Values are finite (finite input, converged iteration); `total_cmp` keeps the sort total and
    // the index tie-break keeps it deterministic for repeated eigenvalues.
    order.sort_by(|&a, &b| {
        decomposition.eigenvalues[a]
            .total_cmp(&decomposition.eigenvalues[b])
            .then(a.cmp(&b))
    });
    let values: Vec<f64> = order
        .iter()
        .map(|&k| decomposition.eigenvalues[k])
        .collect();
    if let Some((row, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(EigenError::NonFinite {
            row,
            col: row,
            value,
        });
    }
    let mut vectors = DMatrix::zeros(rows, rows);
    for (target, &source) in order.iter().enumerate() {
        let mut v: Vec<f64> = decomposition
            .eigenvectors
            .column(source)
            .iter()
            .copied()
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if !(norm.is_finite() && norm > 0.0) {
            return Err(EigenError::NoConvergence);
        }
        v.iter_mut().for_each(|x| *x /= norm);
        apply_sign_convention(&mut v);
        vectors.column_mut(target).copy_from_slice(&v);
    }
    Ok(SymEigen { values, vectors })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagonal_matrix_sorted_ascending_with_positive_pivots() {
        let m = DMatrix::from_row_slice(3, 3, &[3.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 2.0]);
        let e = sym_eigen(&m).unwrap();
        assert_eq!(e.values, vec![1.0, 2.0, 3.0]);
        assert_eq!(e.min_vector(), vec![0.0, 1.0, 0.0]);
        assert_eq!(e.vector(2).unwrap(), vec![1.0, 0.0, 0.0]);
        assert_eq!(e.condition_number(), Some(3.0));
    }

    #[test]
    fn two_by_two_correlation_matrix() {
        // [[1, ρ], [ρ, 1]] has eigenvalues 1 ∓ ρ with vectors (1, ∓1)/√2; the tie in magnitude
        // resolves to the first component, so both vectors start with +1/√2.
        let rho = 0.9;
        let m = DMatrix::from_row_slice(2, 2, &[1.0, rho, rho, 1.0]);
        let e = sym_eigen(&m).unwrap();
        assert!((e.values[0] - 0.1).abs() < 1e-15);
        assert!((e.values[1] - 1.9).abs() < 1e-15);
        let h = std::f64::consts::FRAC_1_SQRT_2;
        let v0 = e.min_vector();
        assert!((v0[0] - h).abs() < 1e-15 && (v0[1] + h).abs() < 1e-15);
        let v1 = e.vector(1).unwrap();
        assert!((v1[0] - h).abs() < 1e-15 && (v1[1] - h).abs() < 1e-15);
    }

    #[test]
    fn sign_convention_picks_first_of_near_ties_and_flips() {
        let mut v = vec![0.1, -0.7, 0.7 - 1e-13];
        apply_sign_convention(&mut v);
        assert_eq!(v, vec![-0.1, 0.7, -(0.7 - 1e-13)]);
        let mut w = vec![0.6, -0.8];
        apply_sign_convention(&mut w);
        assert_eq!(w, vec![-0.6, 0.8]);
        let mut zero = vec![0.0, 0.0];
        apply_sign_convention(&mut zero);
        assert_eq!(zero, vec![0.0, 0.0]);
    }

    #[test]
    fn singular_matrix_is_unidentified_without_inf() {
        let m = DMatrix::from_row_slice(2, 2, &[1.0, 1.0, 1.0, 1.0]);
        let e = sym_eigen(&m).unwrap();
        assert!(!e.is_identified());
        assert_eq!(e.condition_number(), None);
        assert_eq!(e.psd_lambda_min(), e.lambda_min().max(0.0));
        assert_eq!(condition_number(0.0, 0.0), None);
        assert_eq!(condition_number(f64::NAN, 1.0), None);
        assert_eq!(condition_number(2e-12, 1.0), Some(1.0 / 2e-12));
        assert_eq!(condition_number(1e-12, 1.0), None);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            sym_eigen(&DMatrix::zeros(2, 3)),
            Err(EigenError::NotSquare { rows: 2, cols: 3 })
        );
        assert_eq!(sym_eigen(&DMatrix::zeros(0, 0)), Err(EigenError::Empty));
        let nan = DMatrix::from_row_slice(2, 2, &[1.0, f64::NAN, f64::NAN, 1.0]);
        assert!(matches!(
            sym_eigen(&nan),
            Err(EigenError::NonFinite { row: 0, col: 1, .. })
        ));
        let asym = DMatrix::from_row_slice(2, 2, &[1.0, 0.5, 0.4, 1.0]);
        assert!(matches!(
            sym_eigen(&asym),
            Err(EigenError::NotSymmetric { row: 0, col: 1, .. })
        ));
    }
}
