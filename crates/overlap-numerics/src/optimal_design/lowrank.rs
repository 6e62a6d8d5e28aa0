//! Low-rank factors of the arm matrices and the Schur-complement kernels built from them.
//!
//! Owns the one-time factorization M_a = L_a L_aᵀ (pivoted Cholesky, which also checks that
//! M_a is positive semidefinite), the scaling of the problem to unit size, and the kernels
//! every interior-point iteration spends its time in: per-arm inner products ⟨M_a, Y⟩,
//! weighted sums Σ w_a M_a and the Schur matrices H_ab = ‖U_aᵀ U_b‖²_F (U = T L for a scaling
//! T). Information matrices of preference data are mostly rank one (one comparison direction
//! per arm), so factors make these kernels Gram products instead of d×d matrix products.
//! It must not decide anything about convergence or optimality.

use nalgebra::DMatrix;

use super::DesignError;
use super::linalg::mul_tr;
use super::polytope::Polytope;

/// Pivoted Cholesky stops when the largest remaining pivot is below this fraction of the
/// largest diagonal entry of the matrix: what is left is rounding noise of an exactly
/// low-rank matrix (binary-fraction inputs leave about 1e-16).
const RANK_TOL: f64 = 1e-13;
/// Entries of the residual M − LLᵀ above this fraction of the largest diagonal entry mean the
/// matrix is indefinite (a PSD residual with small diagonal has small off-diagonal entries).
const PSD_TOL: f64 = 1e-9;

/// Factors of every arm in one group: columns `offsets[a]..offsets[a+1]` of `l` are L_a.
#[derive(Debug, Clone)]
pub(crate) struct GroupFactor {
    pub l: DMatrix<f64>,
    pub offsets: Vec<usize>,
}

impl GroupFactor {
    pub(super) fn rank(&self, arm: usize) -> usize {
        self.offsets[arm + 1] - self.offsets[arm]
    }

    /// The factors of the arms in `set`, in that order, as one contiguous matrix.
    pub(super) fn gather(&self, set: &[usize]) -> GroupFactor {
        let d = self.l.nrows();
        let total: usize = set.iter().map(|&a| self.rank(a)).sum();
        let mut l = DMatrix::zeros(d, total);
        let mut offsets = Vec::with_capacity(set.len() + 1);
        offsets.push(0);
        let mut k = 0;
        for &a in set {
            for c in self.offsets[a]..self.offsets[a + 1] {
                l.column_mut(k).copy_from(&self.l.column(c));
                k += 1;
            }
            offsets.push(k);
        }
        GroupFactor { l, offsets }
    }

    pub(super) fn arms(&self) -> usize {
        self.offsets.len() - 1
    }

    /// v_a = ⟨L_a L_aᵀ, Y⟩ for symmetric Y.
    pub(super) fn inner(&self, y: &DMatrix<f64>) -> Vec<f64> {
        inner_cols(&self.l, &self.offsets, y)
    }

    /// Σ_a w_a L_a L_aᵀ.
    pub(super) fn combine(&self, w: &[f64]) -> DMatrix<f64> {
        combine_cols(&self.l, &self.offsets, w)
    }

    /// Whether the Gram route (cost R²·d) beats the svec route (Σ d² r_a + n² d(d+1)/2).
    fn gram_is_cheaper(&self) -> bool {
        let d = self.l.nrows() as f64;
        let r = self.l.ncols() as f64;
        let n = self.arms() as f64;
        r * r * d <= d * d * r + n * n * d * (d + 1.0) / 2.0
    }

    /// H_ab += ‖U_aᵀ U_b‖²_F = ⟨U_a U_aᵀ, U_b U_bᵀ⟩ for scaled factors U (same column
    /// layout as L), through the Gram matrix of U or, when given and cheaper, through the svec
    /// columns Φ (H = ΦᵀΦ).
    pub(super) fn add_schur_scaled(
        &self,
        u: &DMatrix<f64>,
        phi: Option<&DMatrix<f64>>,
        h: &mut DMatrix<f64>,
    ) {
        let d = self.l.nrows() as f64;
        let r = self.l.ncols() as f64;
        let n = self.arms() as f64;
        let gram_route = match phi {
            Some(_) => r * r * d <= n * n * d * (d + 1.0) / 2.0,
            None => self.gram_is_cheaper(),
        };
        if gram_route {
            let g = gram(u);
            self.add_block_sums(&g, &g, 1.0, h);
        } else if let Some(phi) = phi {
            add_gram(phi, h);
        } else {
            add_gram(&self.svec_columns(u, None), h);
        }
    }

    /// The A-criterion Hessian in the eigenbasis X = E diag(x) Eᵀ, with U = Eᵀ L:
    /// H_ab += 2 ⟨U_aᵀ D U_b, U_aᵀ D² U_b⟩, D = diag(1/x) (= Hessian of tr X⁻¹ in σ).
    pub(super) fn add_schur_a(&self, u: &DMatrix<f64>, x: &[f64], h: &mut DMatrix<f64>) {
        if self.gram_is_cheaper() {
            let mut u1 = u.clone();
            let mut u2 = u.clone();
            for (i, &xi) in x.iter().enumerate() {
                u1.row_mut(i).scale_mut(1.0 / xi.sqrt());
                u2.row_mut(i).scale_mut(1.0 / xi);
            }
            let g1 = gram(&u1);
            let g2 = gram(&u2);
            self.add_block_sums(&g1, &g2, 2.0, h);
        } else {
            let phi = self.svec_columns(u, Some(x));
            add_gram(&phi, h);
        }
    }

    /// H_ab += scale · Σ_{k∈a, l∈b} g1_kl g2_kl.
    fn add_block_sums(
        &self,
        g1: &DMatrix<f64>,
        g2: &DMatrix<f64>,
        scale: f64,
        h: &mut DMatrix<f64>,
    ) {
        let n = self.arms();
        let rank_one = self.l.ncols() == n;
        for b in 0..n {
            for a in b..n {
                let v = if rank_one {
                    g1[(a, b)] * g2[(a, b)]
                } else {
                    let mut s = 0.0;
                    for l in self.offsets[b]..self.offsets[b + 1] {
                        for k in self.offsets[a]..self.offsets[a + 1] {
                            s += g1[(k, l)] * g2[(k, l)];
                        }
                    }
                    s
                };
                h[(a, b)] += scale * v;
                if a != b {
                    h[(b, a)] += scale * v;
                }
            }
        }
    }

    /// Columns svec(W ∘ U_a U_aᵀ) (off-diagonal entries times √2, so that inner products
    /// of columns are Frobenius inner products). W = 1, or for the A criterion
    /// w_ij = sqrt((x_i + x_j) / (x_i x_j)²) (see `add_schur_a`).
    pub(crate) fn svec_columns(&self, u: &DMatrix<f64>, x: Option<&[f64]>) -> DMatrix<f64> {
        let d = u.nrows();
        let n = self.arms();
        let p = d * (d + 1) / 2;
        let mut phi = DMatrix::zeros(p, n);
        let sqrt2 = std::f64::consts::SQRT_2;
        // Per svec position: the factor √2 (off-diagonal) times the A-criterion weight.
        let mut factor = vec![0.0; p];
        let mut k = 0;
        for j in 0..d {
            for i in j..d {
                let w = x.map_or(1.0, |x| ((x[i] + x[j]) / (x[i] * x[j]).powi(2)).sqrt());
                factor[k] = if i == j { w } else { sqrt2 * w };
                k += 1;
            }
        }
        // Each arm's column of Φ is written directly (measured several times faster than
        // row-wise products of U followed by a transpose).
        let us = u.as_slice();
        let ps = phi.as_mut_slice();
        // Fixed sizes let the compiler unroll the d×d outer products completely: at the
        // dimensions of most designs the loop overhead of the dynamic version is most of its
        // cost.
        match d {
            1 => self.svec_columns_fixed::<1>(us, &factor, ps),
            2 => self.svec_columns_fixed::<2>(us, &factor, ps),
            3 => self.svec_columns_fixed::<3>(us, &factor, ps),
            4 => self.svec_columns_fixed::<4>(us, &factor, ps),
            5 => self.svec_columns_fixed::<5>(us, &factor, ps),
            6 => self.svec_columns_fixed::<6>(us, &factor, ps),
            7 => self.svec_columns_fixed::<7>(us, &factor, ps),
            8 => self.svec_columns_fixed::<8>(us, &factor, ps),
            _ if d <= FULL_OUTER_MAX_DIM => self.svec_columns_small(us, d, &factor, ps),
            _ => self.svec_columns_large(us, d, &factor, ps),
        }
        phi
    }

    /// `svec_columns` for d > [`FULL_OUTER_MAX_DIM`]: the triangle only, column by column.
    fn svec_columns_large(&self, us: &[f64], d: usize, factor: &[f64], ps: &mut [f64]) {
        let p = factor.len();
        let n = self.arms();
        for a in 0..n {
            let out = &mut ps[a * p..(a + 1) * p];
            for c in self.offsets[a]..self.offsets[a + 1] {
                let col = &us[c * d..(c + 1) * d];
                let mut k = 0;
                for j in 0..d {
                    let uj = col[j];
                    let len = d - j;
                    for (o, &ui) in out[k..k + len].iter_mut().zip(&col[j..]) {
                        *o += ui * uj;
                    }
                    k += len;
                }
            }
            for (o, f) in out.iter_mut().zip(factor) {
                *o *= f;
            }
        }
    }
}

/// Up to this dimension `svec_columns` accumulates full d×d outer products (twice the flops
/// of the triangle, but in loops of length d that vectorize, where the triangle's loops of
/// length d − j are mostly remainder handling), then packs the triangle.
const FULL_OUTER_MAX_DIM: usize = 16;

impl GroupFactor {
    /// `svec_columns` for a fixed d = D (see `svec_columns_small`).
    fn svec_columns_fixed<const D: usize>(&self, us: &[f64], factor: &[f64], ps: &mut [f64]) {
        let p = factor.len();
        for (a, out) in ps.chunks_exact_mut(p).enumerate() {
            let mut buf = [[0.0; D]; D];
            let arm = &us[self.offsets[a] * D..self.offsets[a + 1] * D];
            for col in arm.chunks_exact(D) {
                let col: &[f64; D] = col.try_into().expect("chunks_exact yields D entries");
                for (row, &uj) in buf.iter_mut().zip(col) {
                    for (b, &ui) in row.iter_mut().zip(col) {
                        *b += ui * uj;
                    }
                }
            }
            pack_lower(buf.as_flattened(), D, factor, out);
        }
    }

    /// `svec_columns` for small d: per arm, Σ_c u_c u_cᵀ in a d×d buffer, then the weighted
    /// lower triangle into the arm's column of Φ (`ps`, p entries per arm).
    fn svec_columns_small(&self, us: &[f64], d: usize, factor: &[f64], ps: &mut [f64]) {
        let p = factor.len();
        let mut buf = vec![0.0; d * d];
        for (a, out) in ps.chunks_exact_mut(p).enumerate() {
            buf.fill(0.0);
            for col in us[self.offsets[a] * d..self.offsets[a + 1] * d].chunks_exact(d) {
                for (j, &uj) in col.iter().enumerate() {
                    for (b, &ui) in buf[j * d..(j + 1) * d].iter_mut().zip(col) {
                        *b += ui * uj;
                    }
                }
            }
            pack_lower(&buf, d, factor, out);
        }
    }
}

/// The weighted lower triangle of the symmetric d×d matrix `buf` (column-major) into `out`,
/// column by column: out_k = buf_ij · factor_k.
#[inline]
fn pack_lower(buf: &[f64], d: usize, factor: &[f64], out: &mut [f64]) {
    let mut k = 0;
    for j in 0..d {
        let len = d - j;
        let src = &buf[j * d + j..(j + 1) * d];
        for ((o, &b), &f) in out[k..k + len].iter_mut().zip(src).zip(&factor[k..k + len]) {
            *o = b * f;
        }
        k += len;
    }
}

/// v_a = ⟨U_a U_aᵀ, Y⟩ = Σ_{c ∈ a} u_cᵀ Y u_c for symmetric Y (columns of arm a are
/// `offsets[a]..offsets[a+1]`).
pub(crate) fn inner_cols(u: &DMatrix<f64>, offsets: &[usize], y: &DMatrix<f64>) -> Vec<f64> {
    let t = y * u;
    (0..offsets.len() - 1)
        .map(|a| {
            (offsets[a]..offsets[a + 1])
                .map(|c| u.column(c).dot(&t.column(c)))
                .sum()
        })
        .collect()
}

/// Σ_a w_a U_a U_aᵀ.
pub(crate) fn combine_cols(u: &DMatrix<f64>, offsets: &[usize], w: &[f64]) -> DMatrix<f64> {
    let mut uw = u.clone();
    for (a, &wa) in w.iter().enumerate() {
        for c in offsets[a]..offsets[a + 1] {
            uw.column_mut(c).scale_mut(wa);
        }
    }
    mul_tr(&uw, u)
}

/// UᵀU through the blocked matrix product (nalgebra's `gemm_tr` is a loop of dot products).
pub(crate) fn gram(u: &DMatrix<f64>) -> DMatrix<f64> {
    let ut = u.transpose();
    &ut * u
}

fn add_gram(phi: &DMatrix<f64>, h: &mut DMatrix<f64>) {
    let pt = phi.transpose();
    h.gemm(1.0, &pt, phi, 1.0);
}

/// The problem in solver units: matrices scaled by κ so that an average arm has eigenvalues
/// of about one, and the free mass folded into the factors.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub dim: usize,
    /// Scaled free-mass factors: L_a L_aᵀ = κ · m · M_a^g.
    pub factors: Vec<GroupFactor>,
    /// Unscaled factors of M_a^g (for certificates in input units).
    pub unscaled: Vec<GroupFactor>,
    /// κ · Σ_a γ_a M_a^g.
    pub base: Vec<DMatrix<f64>>,
    pub kappa: f64,
}

impl Prepared {
    pub(super) fn new(
        matrices: &[Vec<DMatrix<f64>>],
        poly: &Polytope,
    ) -> Result<Prepared, DesignError> {
        let dim = matrices[0][0].nrows();
        let mut unscaled = Vec::with_capacity(matrices.len());
        let mut trace_sum = 0.0;
        let mut count = 0usize;
        let mut work = Vec::with_capacity(dim * dim);
        for (g, group) in matrices.iter().enumerate() {
            let mut cols: Vec<f64> = Vec::with_capacity(dim * group.len());
            let mut offsets = Vec::with_capacity(group.len() + 1);
            offsets.push(0);
            let mut total = 0;
            for (a, m) in group.iter().enumerate() {
                trace_sum += m.trace();
                count += 1;
                total += pivoted_cholesky_into(m, &mut work, &mut cols).map_err(|eigenvalue| {
                    DesignError::NotPsd {
                        group: g,
                        arm: a,
                        eigenvalue,
                    }
                })?;
                offsets.push(total);
            }
            let l = DMatrix::from_vec(dim, total, cols);
            unscaled.push(GroupFactor { l, offsets });
        }
        let mean_eig = trace_sum / (count as f64 * dim as f64);
        let kappa = if mean_eig > 0.0 && mean_eig.is_finite() {
            1.0 / mean_eig
        } else {
            1.0
        };
        let root = (kappa * poly.m_free).sqrt();
        let factors = unscaled
            .iter()
            .map(|f| GroupFactor {
                l: &f.l * root,
                offsets: f.offsets.clone(),
            })
            .collect();
        let base = unscaled
            .iter()
            .map(|f| {
                let w: Vec<f64> = poly.gamma.iter().map(|g| g * kappa).collect();
                f.combine(&w)
            })
            .collect();
        Ok(Prepared {
            dim,
            factors,
            unscaled,
            base,
            kappa,
        })
    }

    pub(super) fn groups(&self) -> usize {
        self.factors.len()
    }
}

/// Columns l_k with M = Σ l_k l_kᵀ (to rounding), by Cholesky with diagonal pivoting, appended
/// column-major to `out` (d entries per column); returns how many were appended. `work` is a
/// d×d scratch buffer reused across arms (this runs once per arm and group, so with hundreds
/// of arms a per-call allocation would show). Returns the most negative eigenvalue as the
/// error when M is not PSD.
fn pivoted_cholesky_into(
    m: &DMatrix<f64>,
    work: &mut Vec<f64>,
    out: &mut Vec<f64>,
) -> Result<usize, f64> {
    let d = m.nrows();
    work.clear();
    work.extend_from_slice(m.as_slice());
    let r = work.as_mut_slice();
    // Symmetrize: validation allowed asymmetry at rounding level.
    for j in 0..d {
        for i in 0..j {
            let v = 0.5 * (r[i + j * d] + r[j + i * d]);
            r[i + j * d] = v;
            r[j + i * d] = v;
        }
    }
    let scale = (0..d).fold(0.0f64, |s, i| s.max(r[i + i * d].abs()));
    if scale == 0.0 {
        let off = r.iter().fold(0.0f64, |s, v| s.max(v.abs()));
        return if off == 0.0 {
            Ok(0)
        } else {
            Err(min_eigenvalue(m))
        };
    }
    let start = out.len();
    let mut rank = 0;
    while rank < d {
        let mut p = 0;
        for i in 1..d {
            if r[i + i * d] > r[p + p * d] {
                p = i;
            }
        }
        let pivot = r[p + p * d];
        if pivot <= RANK_TOL * scale {
            break;
        }
        let inv = 1.0 / pivot.sqrt();
        let k = out.len();
        out.extend(r[p * d..(p + 1) * d].iter().map(|v| v * inv));
        // R ← R − l lᵀ.
        let col = &out[k..k + d];
        for j in 0..d {
            let lj = col[j];
            if lj != 0.0 {
                for (x, &li) in r[j * d..(j + 1) * d].iter_mut().zip(col) {
                    *x -= li * lj;
                }
            }
        }
        rank += 1;
    }
    // What is left must be rounding noise of a PSD matrix.
    let worst = r.iter().fold(0.0f64, |s, v| s.max(v.abs()));
    let min_diag = (0..d).fold(0.0f64, |s, i| s.min(r[i + i * d]));
    if worst > PSD_TOL * scale || min_diag < -PSD_TOL * scale {
        out.truncate(start);
        return Err(min_eigenvalue(m));
    }
    Ok(rank)
}

/// [`pivoted_cholesky_into`] returning the columns as vectors (tests).
#[cfg(test)]
fn pivoted_cholesky(m: &DMatrix<f64>) -> Result<Vec<nalgebra::DVector<f64>>, f64> {
    let d = m.nrows();
    let mut out = Vec::new();
    let rank = pivoted_cholesky_into(m, &mut Vec::new(), &mut out)?;
    Ok((0..rank)
        .map(|k| nalgebra::DVector::from_column_slice(&out[k * d..(k + 1) * d]))
        .collect())
}

fn min_eigenvalue(m: &DMatrix<f64>) -> f64 {
    let sym = (m + m.transpose()) * 0.5;
    sym.symmetric_eigenvalues()
        .iter()
        .fold(f64::INFINITY, |a, &b| a.min(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_reproduce_psd_matrices() {
        let v = DMatrix::from_row_slice(3, 2, &[1.0, 0.5, -2.0, 1.0, 0.25, 3.0]);
        let m = &v * v.transpose();
        let cols = pivoted_cholesky(&m).unwrap();
        assert_eq!(cols.len(), 2);
        let mut back = DMatrix::zeros(3, 3);
        for c in &cols {
            back += c * c.transpose();
        }
        assert!((back - m).amax() < 1e-12);
    }

    #[test]
    fn indefinite_matrices_are_rejected() {
        let m = DMatrix::from_row_slice(2, 2, &[0.0, 1.0, 1.0, 0.0]);
        assert!(pivoted_cholesky(&m).is_err());
        let m = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
        assert!(pivoted_cholesky(&m).is_err());
    }

    #[test]
    fn schur_routes_agree() {
        let d = 3;
        let l = DMatrix::from_fn(d, 5, |i, j| ((i * 3 + j * 7) % 5) as f64 - 2.0);
        let f = GroupFactor {
            l,
            offsets: vec![0, 1, 3, 5],
        };
        let t = DMatrix::from_fn(d, d, |i, j| if i == j { 1.5 } else { 0.1 * (i + j) as f64 });
        let u = &t * &f.l;
        let mut h1 = DMatrix::zeros(3, 3);
        let g = gram(&u);
        f.add_block_sums(&g, &g, 1.0, &mut h1);
        let mut h2 = DMatrix::zeros(3, 3);
        add_gram(&f.svec_columns(&u, None), &mut h2);
        assert!((&h1 - &h2).amax() < 1e-9 * h1.amax());
        let x = [0.5f64, 1.0, 2.0];
        let mut h3 = DMatrix::zeros(3, 3);
        let mut u1 = u.clone();
        let mut u2 = u.clone();
        for (i, &xi) in x.iter().enumerate() {
            u1.row_mut(i).scale_mut(1.0 / xi.sqrt());
            u2.row_mut(i).scale_mut(1.0 / xi);
        }
        f.add_block_sums(&gram(&u1), &gram(&u2), 2.0, &mut h3);
        let mut h4 = DMatrix::zeros(3, 3);
        add_gram(&f.svec_columns(&u, Some(&x)), &mut h4);
        assert!((&h3 - &h4).amax() < 1e-9 * h3.amax());
    }
}
