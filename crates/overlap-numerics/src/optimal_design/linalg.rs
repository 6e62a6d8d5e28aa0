//! Small dense linear-algebra helpers shared by the design solvers.
//!
//! Owns sorted symmetric eigendecompositions, the sign convention for eigenvectors, step
//! lengths to the PSD boundary, plain-loop products for the small d×d matrices of the
//! interior-point iterations ([`mul`], [`mul_tr`], [`tr_mul`]), and a Cholesky factorization
//! of the Schur matrix that pushes its trailing updates through the blocked matrix product
//! (nalgebra's own Cholesky is unblocked, and the Schur solve is the other hot spot next to
//! the Gram products). It must not know about designs.

use nalgebra::{DMatrix, DVector};

/// Eigenvalues ascending with their unit eigenvectors as columns.
pub(crate) struct SortedEigen {
    pub values: Vec<f64>,
    pub vectors: DMatrix<f64>,
}

/// Symmetric eigendecomposition with eigenvalues in ascending order.
pub(crate) fn sorted_eigen(m: &DMatrix<f64>) -> SortedEigen {
    let eig = m.clone().symmetric_eigen();
    let d = m.nrows();
    let mut idx: Vec<usize> = (0..d).collect();
    idx.sort_by(|&a, &b| eig.eigenvalues[a].total_cmp(&eig.eigenvalues[b]));
    let values = idx.iter().map(|&i| eig.eigenvalues[i]).collect();
    let mut vectors = DMatrix::zeros(d, d);
    for (k, &i) in idx.iter().enumerate() {
        vectors.column_mut(k).copy_from(&eig.eigenvectors.column(i));
    }
    SortedEigen { values, vectors }
}

/// Smallest eigenvalue of a symmetric matrix (only the lower triangle is read).
///
/// Householder reduction to tridiagonal form, then Sturm-sequence bisection for the one
/// eigenvalue wanted: about (4/3)d³ flops, several times less than a full eigenvalue
/// computation — this runs a few times per interior-point iteration (step lengths). The
/// result is accurate to about 1e-13 relative to the largest |eigenvalue|.
pub(crate) fn min_eigenvalue(m: &DMatrix<f64>) -> f64 {
    let n = m.nrows();
    if n == 0 {
        return f64::INFINITY;
    }
    let (diag, off) = tridiagonalize(m);
    smallest_tridiagonal_eigenvalue(&diag, &off)
}

/// Relative accuracy of [`max_step_psd`]. Callers take a fixed fraction (0.99) of the step,
/// so a step short by 1e-4 relative costs nothing measurable, and it halves the bisection.
const STEP_ACCURACY: f64 = 1e-4;

/// Largest α ≤ `cap` with I + αM ⪰ 0 for symmetric M (only the lower triangle is read), to a
/// relative [`STEP_ACCURACY`] and never above the true value: the fraction-to-the-boundary
/// step of an interior-point method.
pub(crate) fn max_step_psd(m: &DMatrix<f64>, cap: f64) -> f64 {
    if m.nrows() == 0 {
        return cap;
    }
    // Many steps are limited elsewhere (the orthant, or the cap of 1): a Cholesky test of
    // (1 − ε)I + cap·M (d³/6 flops, eight times less than the tridiagonalization) settles
    // them; a success means the whole step is feasible with the margin ε = STEP_ACCURACY.
    if cap.is_finite() && shifted_is_positive_definite(m, cap, 1.0 - STEP_ACCURACY) {
        return cap;
    }
    let (diag, off) = tridiagonalize(m);
    let n = diag.len();
    let off2: Vec<f64> = off.iter().map(|e| e * e).collect();
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for i in 0..n {
        let r =
            if i > 0 { off[i - 1].abs() } else { 0.0 } + if i + 1 < n { off[i].abs() } else { 0.0 };
        lo = lo.min(diag[i] - r);
        hi = hi.max(diag[i] + r);
    }
    if !(lo.is_finite() && hi.is_finite()) {
        return 0.0;
    }
    let scale = lo.abs().max(hi.abs()).max(f64::MIN_POSITIVE);
    let pivmin = f64::MIN_POSITIVE.max(f64::EPSILON * f64::EPSILON * scale * scale);
    let any_below = |x: f64| sturm_count(&diag, &off2, x, pivmin) > 0;
    // λ_min(M) ≥ −1/cap means the whole step is feasible.
    let threshold = -1.0 / cap;
    if lo >= threshold || !any_below(threshold) {
        return cap;
    }
    // λ_min ∈ [lo, threshold): bisect, keeping the lower end (the conservative step).
    let mut a = lo - f64::EPSILON * scale;
    let mut b = threshold;
    while b - a > STEP_ACCURACY * b.abs() {
        let mid = 0.5 * (a + b);
        if mid <= a || mid >= b {
            break;
        }
        if any_below(mid) {
            b = mid;
        } else {
            a = mid;
        }
    }
    -1.0 / a
}

/// Whether shift·I + α·M is positive definite (only the lower triangle of M is read), by an
/// unpivoted Cholesky factorization in a scratch buffer.
fn shifted_is_positive_definite(m: &DMatrix<f64>, alpha: f64, shift: f64) -> bool {
    let n = m.nrows();
    let mut a = vec![0.0; n * n];
    for j in 0..n {
        for i in j..n {
            a[i + j * n] = alpha * m[(i, j)] + if i == j { shift } else { 0.0 };
        }
    }
    for j in 0..n {
        let (done, rest) = a.split_at_mut(j * n);
        let col = &mut rest[..n];
        // Left-looking: column j minus the contributions of the finished columns.
        for k in 0..j {
            let prev = &done[k * n..k * n + n];
            let ljk = prev[j];
            for i in j..n {
                col[i] -= prev[i] * ljk;
            }
        }
        let pivot = col[j];
        if !(pivot > 0.0 && pivot.is_finite()) {
            return false;
        }
        let root = pivot.sqrt();
        for v in &mut col[j..n] {
            *v /= root;
        }
    }
    true
}

/// Number of eigenvalues below x of the tridiagonal (diag, off) with off2 = off², from the
/// signs of the LDLᵀ pivots of T − xI.
fn sturm_count(diag: &[f64], off2: &[f64], x: f64, pivmin: f64) -> usize {
    let mut count = 0;
    let mut q = diag[0] - x;
    if q.abs() < pivmin {
        q = -pivmin;
    }
    if q < 0.0 {
        count += 1;
    }
    for i in 1..diag.len() {
        q = diag[i] - x - off2[i - 1] / q;
        if q.abs() < pivmin {
            q = -pivmin;
        }
        if q < 0.0 {
            count += 1;
        }
    }
    count
}

/// Householder tridiagonalization of a symmetric matrix: the diagonal and the off-diagonal
/// (length n − 1) of a similar tridiagonal matrix.
fn tridiagonalize(m: &DMatrix<f64>) -> (Vec<f64>, Vec<f64>) {
    let n = m.nrows();
    // Full symmetric copy, column-major.
    let mut a = vec![0.0; n * n];
    for j in 0..n {
        for i in j..n {
            let v = m[(i, j)];
            a[i + j * n] = v;
            a[j + i * n] = v;
        }
    }
    let mut diag = vec![0.0; n];
    let mut off = vec![0.0; n.saturating_sub(1)];
    let mut v = vec![0.0; n];
    let mut p = vec![0.0; n];
    for k in 0..n.saturating_sub(2) {
        diag[k] = a[k + k * n];
        let mut norm2 = 0.0;
        for i in k + 1..n {
            norm2 += a[i + k * n] * a[i + k * n];
        }
        if norm2 == 0.0 {
            continue;
        }
        let x0 = a[k + 1 + k * n];
        let norm = norm2.sqrt();
        let alpha = if x0 >= 0.0 { -norm } else { norm };
        off[k] = alpha;
        // v = x − α e₁ and H = I − β v vᵀ with β = 2 / vᵀv, vᵀv = 2(‖x‖² − α x₀).
        for i in k + 1..n {
            v[i] = a[i + k * n];
        }
        v[k + 1] -= alpha;
        let beta = 1.0 / (norm2 - alpha * x0);
        // p = β A₂₂ v, q = p − (β vᵀp / 2) v, A₂₂ ← A₂₂ − v qᵀ − q vᵀ.
        p[k + 1..n].fill(0.0);
        for j in k + 1..n {
            let vj = v[j];
            let col = &a[j * n..j * n + n];
            for i in k + 1..n {
                p[i] += col[i] * vj;
            }
        }
        let mut vp = 0.0;
        for i in k + 1..n {
            p[i] *= beta;
            vp += v[i] * p[i];
        }
        let kk = 0.5 * beta * vp;
        for i in k + 1..n {
            p[i] -= kk * v[i];
        }
        for j in k + 1..n {
            let (vj, qj) = (v[j], p[j]);
            let col = &mut a[j * n..j * n + n];
            for i in k + 1..n {
                col[i] -= v[i] * qj + p[i] * vj;
            }
        }
    }
    if n >= 2 {
        diag[n - 2] = a[(n - 2) + (n - 2) * n];
        off[n - 2] = a[(n - 1) + (n - 2) * n];
    }
    diag[n - 1] = a[(n - 1) + (n - 1) * n];
    (diag, off)
}

/// Smallest eigenvalue of the symmetric tridiagonal matrix (diag, off) by bisection on the
/// Sturm count, to 1e-13 of the spectral scale.
fn smallest_tridiagonal_eigenvalue(diag: &[f64], off: &[f64]) -> f64 {
    let n = diag.len();
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for i in 0..n {
        let r =
            if i > 0 { off[i - 1].abs() } else { 0.0 } + if i + 1 < n { off[i].abs() } else { 0.0 };
        lo = lo.min(diag[i] - r);
        hi = hi.max(diag[i] + r);
    }
    if !(lo.is_finite() && hi.is_finite()) {
        return f64::NAN;
    }
    let scale = lo.abs().max(hi.abs()).max(f64::MIN_POSITIVE);
    let pivmin = f64::MIN_POSITIVE.max(f64::EPSILON * f64::EPSILON * scale * scale);
    let off2: Vec<f64> = off.iter().map(|e| e * e).collect();
    let count_below = |x: f64| sturm_count(diag, &off2, x, pivmin);
    let mut a = lo - f64::EPSILON * scale;
    let mut b = hi + f64::EPSILON * scale;
    for _ in 0..200 {
        let mid = 0.5 * (a + b);
        // 1e-13 of the spectral scale: far below what step lengths and certificates need,
        // and about 45 halvings instead of 100 to full precision.
        if mid <= a || mid >= b || b - a <= 1e-13 * scale {
            break;
        }
        if count_below(mid) >= 1 {
            b = mid;
        } else {
            a = mid;
        }
    }
    0.5 * (a + b)
}

/// Flip `v` so that its largest-magnitude component (the first within 1e-12 of the largest)
/// is positive — the convention DESIGN.md §2 fixes for `weakest_direction`.
pub(crate) fn fix_sign(v: &mut [f64]) {
    let largest = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if let Some(first) = v.iter().position(|x| x.abs() >= largest - 1e-12)
        && v[first] < 0.0
    {
        for x in v.iter_mut() {
            *x = -*x;
        }
    }
}

/// Products with at most this many multiply–adds run in a plain loop: nalgebra hands every
/// product with all sides above 5 to `matrixmultiply`, whose aligned packing buffers are
/// allocated per call and cost more than the arithmetic of a d×d product at d ≤ 10 — and the
/// interior-point iterations are made of such products.
const SMALL_PRODUCT: usize = 10 * 10 * 10;

/// A·B.
pub(crate) fn mul(a: &DMatrix<f64>, b: &DMatrix<f64>) -> DMatrix<f64> {
    let (m, k) = a.shape();
    let n = b.ncols();
    if m * k * n > SMALL_PRODUCT {
        return a * b;
    }
    let mut c = DMatrix::zeros(m, n);
    let (av, bv) = (a.as_slice(), b.as_slice());
    for (j, cj) in c.as_mut_slice().chunks_exact_mut(m).enumerate() {
        for (l, al) in av.chunks_exact(m).enumerate() {
            let blj = bv[l + j * k];
            for (x, &y) in cj.iter_mut().zip(al) {
                *x += y * blj;
            }
        }
    }
    c
}

/// A·Bᵀ.
pub(crate) fn mul_tr(a: &DMatrix<f64>, b: &DMatrix<f64>) -> DMatrix<f64> {
    let (m, k) = a.shape();
    let n = b.nrows();
    if m * k * n > SMALL_PRODUCT {
        return a * b.transpose();
    }
    let mut c = DMatrix::zeros(m, n);
    let (av, bv) = (a.as_slice(), b.as_slice());
    for (l, al) in av.chunks_exact(m).enumerate() {
        for (j, cj) in c.as_mut_slice().chunks_exact_mut(m).enumerate() {
            let bjl = bv[j + l * n];
            for (x, &y) in cj.iter_mut().zip(al) {
                *x += y * bjl;
            }
        }
    }
    c
}

/// Aᵀ·B.
pub(crate) fn tr_mul(a: &DMatrix<f64>, b: &DMatrix<f64>) -> DMatrix<f64> {
    let (k, m) = a.shape();
    let n = b.ncols();
    if m * k * n > SMALL_PRODUCT {
        return a.transpose() * b;
    }
    let (av, bv) = (a.as_slice(), b.as_slice());
    DMatrix::from_fn(m, n, |i, j| {
        av[i * k..(i + 1) * k]
            .iter()
            .zip(&bv[j * k..(j + 1) * k])
            .map(|(x, y)| x * y)
            .sum()
    })
}

/// Lower Cholesky factor of a symmetric positive definite matrix, `None` if it is not.
pub(crate) fn cholesky_lower(m: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    m.clone().cholesky().map(|c| c.unpack())
}

/// Length of svec for d×d symmetric matrices.
pub(crate) fn svec_len(d: usize) -> usize {
    d * (d + 1) / 2
}

/// svec: the lower triangle column by column, off-diagonal entries times √2, so that
/// svec(A)·svec(B) = ⟨A, B⟩ for symmetric A, B.
pub(crate) fn svec_into(m: &DMatrix<f64>, out: &mut [f64]) {
    let d = m.nrows();
    let mut k = 0;
    for j in 0..d {
        out[k] = m[(j, j)];
        k += 1;
        for i in j + 1..d {
            out[k] = std::f64::consts::SQRT_2 * 0.5 * (m[(i, j)] + m[(j, i)]);
            k += 1;
        }
    }
}

pub(crate) fn svec(m: &DMatrix<f64>) -> DVector<f64> {
    let mut v = DVector::zeros(svec_len(m.nrows()));
    svec_into(m, v.as_mut_slice());
    v
}

/// Inverse of [`svec`].
pub(crate) fn smat(v: &[f64], d: usize) -> DMatrix<f64> {
    let mut m = DMatrix::zeros(d, d);
    let mut k = 0;
    for j in 0..d {
        m[(j, j)] = v[k];
        k += 1;
        for i in j + 1..d {
            let x = v[k] * std::f64::consts::FRAC_1_SQRT_2;
            m[(i, j)] = x;
            m[(j, i)] = x;
            k += 1;
        }
    }
    m
}

/// Block size of the Schur Cholesky; below twice this the unblocked one is used.
const BLOCK: usize = 48;

/// L21 = A21 L11⁻ᵀ in place, for the panel below the diagonal block at (k, k) of size nb of
/// the column-major n×n matrix `data`: column c of L21 is (A21[:, c] − Σ_{j<c} L21[:, j]
/// L11[c, j]) / L11[c, c]. Working on whole panel columns (contiguous, length n − k − nb)
/// instead of nalgebra's per-row triangular solves keeps the loops long enough to vectorize.
fn solve_panel(data: &mut [f64], n: usize, k: usize, nb: usize, l11: &DMatrix<f64>) {
    let rows = k + nb..n;
    for c in 0..nb {
        let col = k + c;
        let (left, right) = data.split_at_mut(col * n);
        let dst = &mut right[rows.clone()];
        for j in 0..c {
            let f = l11[(c, j)];
            if f != 0.0 {
                let src = &left[(k + j) * n..(k + j + 1) * n][rows.clone()];
                for (d, s) in dst.iter_mut().zip(src) {
                    *d -= f * s;
                }
            }
        }
        let inv = 1.0 / l11[(c, c)];
        for v in dst.iter_mut() {
            *v *= inv;
        }
    }
}

/// A Cholesky factorization of a symmetric positive definite matrix (lower factor).
pub(crate) struct SpdFactor {
    l: DMatrix<f64>,
}

impl SpdFactor {
    /// Factor `a` (only its lower triangle is read); `None` when a pivot is not positive.
    pub(super) fn new(mut a: DMatrix<f64>) -> Option<SpdFactor> {
        let n = a.nrows();
        if n < 2 * BLOCK {
            return cholesky_lower(&a).map(|l| SpdFactor { l });
        }
        let mut k = 0;
        while k < n {
            let nb = BLOCK.min(n - k);
            // Factor the diagonal block.
            let diag = a.view((k, k), (nb, nb)).clone_owned();
            let l11 = cholesky_lower(&diag)?;
            a.view_mut((k, k), (nb, nb)).copy_from(&l11);
            let rest = n - k - nb;
            if rest > 0 {
                solve_panel(a.as_mut_slice(), n, k, nb, &l11);
                let l21 = a.view((k + nb, k), (rest, nb)).clone_owned();
                let l21t = l21.transpose();
                // Trailing update A22 -= L21 L21ᵀ (full block through the fast product).
                let mut a22 = a.view_mut((k + nb, k + nb), (rest, rest));
                a22.gemm(-1.0, &l21, &l21t, 1.0);
            }
            k += nb;
        }
        a.fill_upper_triangle(0.0, 1);
        Some(SpdFactor { l: a })
    }

    /// Factor `a`, and when rounding makes it numerically indefinite (a Schur matrix of a
    /// degenerate face: more active arms than the information space has dimensions), factor
    /// it with its diagonal raised by a relative 1e-13, 1e-11, … up to 1e-5 instead. Returns the
    /// factor and the relative shift used; callers refine against the unshifted system.
    pub(super) fn new_regularized(a: DMatrix<f64>) -> Option<(SpdFactor, f64)> {
        if let Some(f) = SpdFactor::new(a.clone()) {
            return Some((f, 0.0));
        }
        let mut delta = 1e-13;
        while delta <= 1e-5 {
            let mut shifted = a.clone();
            for i in 0..shifted.nrows() {
                shifted[(i, i)] *= 1.0 + delta;
            }
            if let Some(f) = SpdFactor::new(shifted) {
                return Some((f, delta));
            }
            delta *= 100.0;
        }
        None
    }

    /// Solve A x = b.
    pub(super) fn solve(&self, b: &DVector<f64>) -> DVector<f64> {
        let mut x = b.clone();
        self.l.solve_lower_triangular_mut(&mut x);
        self.l.tr_solve_lower_triangular_mut(&mut x);
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_cholesky_solves() {
        let n = 130;
        let b = DMatrix::from_fn(n, n, |i, j| (((i * 31 + j * 17) % 23) as f64 - 11.0) / 7.0);
        let a = &b * b.transpose() + DMatrix::identity(n, n);
        let f = SpdFactor::new(a.clone()).unwrap();
        let rhs = DVector::from_fn(n, |i, _| i as f64 - 3.0);
        let x = f.solve(&rhs);
        assert!((&a * &x - &rhs).amax() < 1e-8);
    }

    #[test]
    fn min_eigenvalue_matches_dense() {
        for d in [1usize, 2, 3, 5, 8, 17, 32] {
            let b = DMatrix::from_fn(d, d, |i, j| {
                (((i * 31 + j * 17 + d) % 23) as f64 - 11.0) / 7.0
            });
            let m = &b + b.transpose();
            let want = m
                .clone()
                .symmetric_eigenvalues()
                .iter()
                .fold(f64::INFINITY, |a, &x| a.min(x));
            let got = min_eigenvalue(&m);
            assert!(
                (got - want).abs() <= 1e-12 * (d as f64) * m.amax().max(1.0),
                "d={d}: {got} vs {want}"
            );
        }
        let diag = DMatrix::from_diagonal(&DVector::from_vec(vec![3.0, -1.0, 2.0]));
        assert!((min_eigenvalue(&diag) + 1.0).abs() < 1e-12);
    }

    #[test]
    fn step_to_boundary() {
        let m = DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, -4.0]);
        let a = max_step_psd(&m, 10.0);
        assert!(a <= 0.25 && a > 0.25 * (1.0 - 2.0 * STEP_ACCURACY));
        assert_eq!(max_step_psd(&m, 0.2), 0.2);
        let b = DMatrix::from_fn(6, 6, |i, j| (((i * 5 + j * 3) % 7) as f64 - 3.0) / 2.0);
        let m = &b + b.transpose();
        let e = m
            .clone()
            .symmetric_eigenvalues()
            .iter()
            .fold(f64::INFINITY, |a, &x| a.min(x));
        let a = max_step_psd(&m, 1e9);
        assert!(a <= -1.0 / e && a > -1.0 / e * (1.0 - 2.0 * STEP_ACCURACY));
    }

    #[test]
    fn small_products_match_nalgebra() {
        for (m, k, n) in [(3usize, 4usize, 5usize), (8, 8, 8), (20, 20, 20), (1, 7, 2)] {
            let a = DMatrix::from_fn(m, k, |i, j| ((i * 7 + j * 3) % 11) as f64 - 5.0);
            let b = DMatrix::from_fn(k, n, |i, j| ((i * 5 + j * 13) % 7) as f64 - 3.0);
            assert!((mul(&a, &b) - &a * &b).amax() < 1e-12);
            let bt = b.transpose();
            assert!((mul_tr(&a, &bt) - &a * &b).amax() < 1e-12);
            let at = a.transpose();
            assert!((tr_mul(&at, &b) - &a * &b).amax() < 1e-12);
        }
    }

    #[test]
    fn svec_round_trip() {
        let m = DMatrix::from_row_slice(3, 3, &[1.0, 2.0, 3.0, 2.0, 4.0, 5.0, 3.0, 5.0, 6.0]);
        let v = svec(&m);
        assert!((smat(v.as_slice(), 3) - &m).amax() < 1e-15);
        assert!((v.dot(&v) - m.dot(&m)).abs() < 1e-12);
    }

    #[test]
    fn sign_convention() {
        let mut v = [0.1, -0.7, 0.7];
        fix_sign(&mut v);
        assert_eq!(v, [-0.1, 0.7, -0.7]);
    }
}
