//! Information about a subset of the weights: principal submatrices, the Schur complement
//! Î_{S·N} = Î_SS − Î_SN Î_NN⁺ Î_NS (DESIGN.md §2 "Support, absent features and scope"), the
//! Moore–Penrose pseudo-inverse with the project's zero rule, and the noise floor that turns
//! rounding residue into exact zeros.
//!
//! Entry points: [`scoped_information`], [`pseudo_inverse`], [`pseudo_inverse_diagonal`],
//! [`clean_spectrum`], [`clean_loadings`]. Everything here is pure: it takes matrices and index
//! sets, checks them, and never decides which features a caller should scope to.

use nalgebra::DMatrix;
use thiserror::Error;

use super::eigen::{EigenError, SymEigen, UNIDENTIFIED_RATIO, apply_sign_convention, sym_eigen};

/// A squared loading on the null space above this marks a coordinate as lying in an unidentified
/// direction. Exact null vectors put weight ≥ 1/d on their coordinates (0.5 for a duplicated
/// pair); eigenvectors of a well-separated identified part carry rounding residue of order
/// 1e-16·κ on the others, far below.
pub const NULL_LOADING: f64 = 1e-6;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum ScopeError {
    #[error("scope index {index} is out of range for a {dim}×{dim} matrix")]
    OutOfRange { index: usize, dim: usize },
    #[error("scope index {index} is listed twice")]
    Repeated { index: usize },
    #[error(transparent)]
    Eigen(#[from] EigenError),
}

fn check_indices(indices: &[usize], dim: usize) -> Result<(), ScopeError> {
    let mut seen = vec![false; dim];
    for &index in indices {
        let slot = seen
            .get_mut(index)
            .ok_or(ScopeError::OutOfRange { index, dim })?;
        if *slot {
            return Err(ScopeError::Repeated { index });
        }
        *slot = true;
    }
    Ok(())
}

/// The principal submatrix of `m` on `indices` (in the order given).
pub fn submatrix(m: &DMatrix<f64>, indices: &[usize]) -> Result<DMatrix<f64>, ScopeError> {
    check_indices(indices, m.nrows())?;
    Ok(DMatrix::from_fn(indices.len(), indices.len(), |i, j| {
        m[(indices[i], indices[j])]
    }))
}

/// Moore–Penrose pseudo-inverse of a symmetric PSD matrix: eigenvalues ≤ 1e-12·λ_max (and any
/// negative rounding) are treated as 0, as for "unidentified". The zero matrix inverts to zero.
pub fn pseudo_inverse(m: &DMatrix<f64>) -> Result<DMatrix<f64>, ScopeError> {
    let eig = sym_eigen(m)?;
    let floor = UNIDENTIFIED_RATIO * eig.lambda_max().max(0.0);
    let d = eig.dim();
    let mut out = DMatrix::zeros(d, d);
    for (k, &value) in eig.values.iter().enumerate() {
        if value <= floor || value <= 0.0 {
            continue;
        }
        let v = eig.vectors.column(k);
        out += (v * v.transpose()) / value;
    }
    Ok(out)
}

/// The diagonal of the pseudo-inverse of a symmetric PSD matrix, `None` for a coordinate that lies
/// in an unidentified (null) direction: its variance is unbounded, not small.
pub fn pseudo_inverse_diagonal(m: &DMatrix<f64>) -> Result<Vec<Option<f64>>, ScopeError> {
    let eig = sym_eigen(m)?;
    let floor = UNIDENTIFIED_RATIO * eig.lambda_max().max(0.0);
    let d = eig.dim();
    Ok((0..d)
        .map(|j| {
            let mut diagonal = 0.0;
            let mut null_weight = 0.0;
            for (k, &value) in eig.values.iter().enumerate() {
                let loading = eig.vectors[(j, k)].powi(2);
                if value <= floor || value <= 0.0 {
                    null_weight += loading;
                } else {
                    diagonal += loading / value;
                }
            }
            (null_weight <= NULL_LOADING).then_some(diagonal)
        })
        .collect())
}

/// Î_{S·N}: the information about the coordinates `scope` with every other coordinate as a
/// nuisance, Î_SS − Î_SN Î_NN⁺ Î_NS. Equals Î_SS when the nuisance block carries no information
/// or is uncorrelated with the scope. The result is symmetrised against rounding.
pub fn scoped_information(m: &DMatrix<f64>, scope: &[usize]) -> Result<DMatrix<f64>, ScopeError> {
    let d = m.nrows();
    check_indices(scope, d)?;
    let mut in_scope = vec![false; d];
    for &i in scope {
        in_scope[i] = true;
    }
    let nuisance: Vec<usize> = (0..d).filter(|&i| !in_scope[i]).collect();
    let ss = submatrix(m, scope)?;
    if nuisance.is_empty() || scope.is_empty() {
        return Ok(ss);
    }
    let nn = submatrix(m, &nuisance)?;
    if nn.iter().all(|x| *x == 0.0) {
        return Ok(ss);
    }
    let sn = DMatrix::from_fn(scope.len(), nuisance.len(), |i, j| {
        m[(scope[i], nuisance[j])]
    });
    let schur = ss - &sn * pseudo_inverse(&nn)? * sn.transpose();
    Ok(DMatrix::from_fn(schur.nrows(), schur.ncols(), |i, j| {
        0.5 * (schur[(i, j)] + schur[(j, i)])
    }))
}

/// Eigenvalues of a PSD matrix with noise removed: anything ≤ 1e-12·λ_max (negative rounding
/// included) is reported as exactly 0, so a zero eigenvalue never prints as 3e-17.
pub fn clean_spectrum(eig: &SymEigen) -> Vec<f64> {
    let floor = UNIDENTIFIED_RATIO * eig.lambda_max().max(0.0);
    eig.values
        .iter()
        .map(|&v| if v <= floor { 0.0 } else { v })
        .collect()
}

/// A unit vector with components of magnitude ≤ 1e-12 set to exactly 0 (rounding residue, not a
/// loading), then signed by the project's convention.
pub fn clean_loadings(v: &[f64]) -> Vec<f64> {
    let mut out: Vec<f64> = v
        .iter()
        .map(|&x| {
            if x.abs() <= UNIDENTIFIED_RATIO {
                0.0
            } else {
                x
            }
        })
        .collect();
    apply_sign_convention(&mut out);
    // −0.0 + 0.0 is +0.0: a zero loading never prints as "-0".
    out.iter_mut().for_each(|x| *x += 0.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spd(d: usize, seed: u64) -> DMatrix<f64> {
        let mut s = seed;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let a = DMatrix::from_fn(d, d + 2, |_, _| next());
        &a * a.transpose()
    }

    #[test]
    fn schur_complement_matches_the_inverse_of_the_scoped_block_of_the_inverse() {
        // For an invertible Î, (Î_{S·N})⁻¹ = [Î⁻¹]_SS: a dense reference independent of the
        // pseudo-inverse code path.
        let m = spd(5, 7);
        let scope = [0, 3, 4];
        let schur = scoped_information(&m, &scope).unwrap();
        let inverse = m.clone().try_inverse().unwrap();
        let reference = submatrix(&inverse, &scope).unwrap().try_inverse().unwrap();
        assert!((schur - reference).abs().max() < 1e-9);
    }

    #[test]
    fn without_nuisance_information_the_scope_is_the_submatrix() {
        let mut m = DMatrix::zeros(4, 4);
        let block = spd(2, 3);
        for i in 0..2 {
            for j in 0..2 {
                m[(i, j)] = block[(i, j)];
            }
        }
        // Coordinates 2 and 3 never vary: zero rows and columns.
        let schur = scoped_information(&m, &[0, 1]).unwrap();
        assert_eq!(schur, block);
        // A nuisance uncorrelated with the scope changes nothing either.
        m[(3, 3)] = 2.0;
        let schur = scoped_information(&m, &[0, 1]).unwrap();
        assert!((schur - block).abs().max() < 1e-15);
    }

    #[test]
    fn a_singular_nuisance_block_uses_the_pseudo_inverse() {
        // x2 duplicates x1 (singular nuisance block): the pseudo-inverse gives the same answer as
        // keeping one copy only.
        let base = spd(2, 11);
        let mut m = DMatrix::zeros(3, 3);
        let map = [0, 1, 1];
        for i in 0..3 {
            for j in 0..3 {
                m[(i, j)] = base[(map[i], map[j])];
            }
        }
        let schur = scoped_information(&m, &[0]).unwrap();
        let reference = base[(0, 0)] - base[(0, 1)].powi(2) / base[(1, 1)];
        assert!((schur[(0, 0)] - reference).abs() < 1e-12);
    }

    #[test]
    fn pseudo_inverse_diagonal_marks_null_directions() {
        // x0 and x1 identical, x2 independent: only x2's variance is finite.
        let mut m = DMatrix::zeros(3, 3);
        for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            m[(i, j)] = 1.0;
        }
        m[(2, 2)] = 4.0;
        let diag = pseudo_inverse_diagonal(&m).unwrap();
        assert_eq!(diag[0], None);
        assert_eq!(diag[1], None);
        assert!((diag[2].unwrap() - 0.25).abs() < 1e-15);
    }

    #[test]
    fn indices_are_checked() {
        let m = spd(3, 1);
        assert!(matches!(
            scoped_information(&m, &[0, 3]),
            Err(ScopeError::OutOfRange { .. })
        ));
        assert!(matches!(
            scoped_information(&m, &[1, 1]),
            Err(ScopeError::Repeated { .. })
        ));
    }

    #[test]
    fn noise_is_zero() {
        let m = DMatrix::from_row_slice(2, 2, &[1.0, 1.0, 1.0, 1.0]);
        let eig = sym_eigen(&m).unwrap();
        assert_eq!(clean_spectrum(&eig), vec![0.0, 2.0]);
        assert_eq!(clean_loadings(&[1e-17, -1.0]), vec![0.0, 1.0]);
    }
}
