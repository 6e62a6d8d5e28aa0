//! The streaming second moment Σ weight·x xᵀ: the one accumulator every Fisher-information and
//! design-geometry matrix is built from (the fit's Newton matrix, the pooled and per-bucket
//! information, the per-arm geometry of the design and collection modules).
//!
//! Only the upper triangle is kept, packed row by row, so memory is d(d+1)/2 per accumulator and
//! never N×d×d. Pure and deterministic given the order of `add` and `merge` calls.

use nalgebra::DMatrix;
use thiserror::Error;

/// Why a [`SecondMoment`] operation failed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MomentError {
    #[error("the row has {found} columns but the accumulator has {expected}")]
    DimensionMismatch { expected: usize, found: usize },
    #[error("the row value at column {column} is not finite: {value}")]
    NonFiniteValue { column: usize, value: f64 },
    #[error("the weight must be finite and non-negative, got {0}")]
    InvalidWeight(f64),
    #[error("the ridge must be finite and non-negative, got {0}")]
    InvalidRidge(f64),
    #[error("no rows were accumulated, so the mean matrix is undefined")]
    Empty,
}

/// Streaming accumulator of Σ weight·x xᵀ (upper triangle, packed row by row), the number of rows
/// and Σ weight. The analysis layer feeds one per bucket and per arm in a single pass over the
/// rows, with weight g(ŵ·x) for Fisher information and weight 1 for the design geometry.
///
/// Determinism: the result depends on the order of [`add`](Self::add) and
/// [`merge`](Self::merge) calls (floating-point addition), so callers must feed rows and merge
/// partial accumulators in a fixed order.
#[derive(Debug, Clone, PartialEq)]
pub struct SecondMoment {
    dim: usize,
    upper: Vec<f64>,
    count: u64,
    weight_sum: f64,
}

impl SecondMoment {
    /// An empty accumulator for rows of `dim` columns.
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            upper: vec![0.0; dim * (dim + 1) / 2],
            count: 0,
            weight_sum: 0.0,
        }
    }

    /// Number of columns.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Rows accumulated.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Σ weight over the rows accumulated.
    pub fn weight_sum(&self) -> f64 {
        self.weight_sum
    }

    /// Mean weight (for curvature weights, 4× this is `mean_curvature`); `None` when empty.
    pub fn mean_weight(&self) -> Option<f64> {
        (self.count > 0).then(|| self.weight_sum / self.count as f64)
    }

    /// Add weight·x xᵀ for one row. The row must have `dim` finite entries and the weight must be
    /// finite and non-negative (a negative weight would break positive semi-definiteness).
    pub fn add(&mut self, row: &[f64], weight: f64) -> Result<(), MomentError> {
        if row.len() != self.dim {
            return Err(MomentError::DimensionMismatch {
                expected: self.dim,
                found: row.len(),
            });
        }
        if !(weight.is_finite() && weight >= 0.0) {
            return Err(MomentError::InvalidWeight(weight));
        }
        if let Some((column, &value)) = row.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(MomentError::NonFiniteValue { column, value });
        }
        self.push(row, weight);
        Ok(())
    }

    /// `add` without checks, for rows already validated in this module.
    pub(crate) fn push(&mut self, row: &[f64], weight: f64) {
        accumulate_upper(&mut self.upper, row, weight);
        self.count += 1;
        self.weight_sum += weight;
    }

    /// `merge` for accumulators known to have the same dimension.
    pub(crate) fn absorb(&mut self, other: &SecondMoment) {
        self.upper
            .iter_mut()
            .zip(&other.upper)
            .for_each(|(a, b)| *a += b);
        self.count += other.count;
        self.weight_sum += other.weight_sum;
    }

    /// Add another accumulator's sums into this one.
    pub fn merge(&mut self, other: &SecondMoment) -> Result<(), MomentError> {
        if other.dim != self.dim {
            return Err(MomentError::DimensionMismatch {
                expected: self.dim,
                found: other.dim,
            });
        }
        self.absorb(other);
        Ok(())
    }

    /// (1/count) Σ weight·x xᵀ + ridge·I as a full symmetric matrix.
    pub fn mean_matrix(&self, ridge: f64) -> Result<DMatrix<f64>, MomentError> {
        if !(ridge.is_finite() && ridge >= 0.0) {
            return Err(MomentError::InvalidRidge(ridge));
        }
        if self.count == 0 {
            return Err(MomentError::Empty);
        }
        let mut m = unpack_upper(self.dim, &self.upper, 1.0 / self.count as f64);
        for i in 0..self.dim {
            m[(i, i)] += ridge;
        }
        Ok(m)
    }
}

/// upper += weight·x xᵀ on the packed upper triangle (row i holds columns i..d).
#[inline]
pub(crate) fn accumulate_upper(upper: &mut [f64], x: &[f64], weight: f64) {
    let mut rest = upper;
    for (i, &xi) in x.iter().enumerate() {
        let (head, tail) = rest.split_at_mut(x.len() - i);
        let scaled = weight * xi;
        for (h, &xj) in head.iter_mut().zip(&x[i..]) {
            *h += scaled * xj;
        }
        rest = tail;
    }
}

/// Full symmetric matrix from a packed upper triangle, each entry multiplied by `factor`.
pub(crate) fn unpack_upper(d: usize, upper: &[f64], factor: f64) -> DMatrix<f64> {
    let mut m = DMatrix::zeros(d, d);
    let mut entries = upper.iter();
    for i in 0..d {
        for j in i..d {
            let value = entries.next().copied().unwrap_or(0.0) * factor;
            m[(i, j)] = value;
            m[(j, i)] = value;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_moment_accumulates_and_merges() {
        let mut a = SecondMoment::new(2);
        a.add(&[1.0, 2.0], 1.0).unwrap();
        a.add(&[3.0, -1.0], 0.5).unwrap();
        let mut b = SecondMoment::new(2);
        b.add(&[0.0, 2.0], 2.0).unwrap();
        a.merge(&b).unwrap();
        assert_eq!(a.count(), 3);
        assert_eq!(a.weight_sum(), 3.5);
        assert_eq!(a.mean_weight(), Some(3.5 / 3.0));
        let m = a.mean_matrix(0.5).unwrap();
        // Σ w x xᵀ = [[1+4.5, 2−1.5], [2−1.5, 4+0.5+8]] = [[5.5, 0.5], [0.5, 12.5]].
        let expected = DMatrix::from_row_slice(
            2,
            2,
            &[5.5 / 3.0 + 0.5, 0.5 / 3.0, 0.5 / 3.0, 12.5 / 3.0 + 0.5],
        );
        assert!((m - expected).abs().max() < 1e-15);
        assert_eq!(
            a.add(&[1.0], 1.0),
            Err(MomentError::DimensionMismatch {
                expected: 2,
                found: 1
            })
        );
        assert_eq!(
            a.add(&[1.0, 1.0], -1.0),
            Err(MomentError::InvalidWeight(-1.0))
        );
        assert!(matches!(
            a.add(&[1.0, f64::INFINITY], 1.0),
            Err(MomentError::NonFiniteValue { column: 1, .. })
        ));
        assert_eq!(
            SecondMoment::new(2).mean_matrix(0.0),
            Err(MomentError::Empty)
        );
        assert!(a.merge(&SecondMoment::new(3)).is_err());
        assert_eq!(a.mean_matrix(-1.0), Err(MomentError::InvalidRidge(-1.0)));
    }
}
