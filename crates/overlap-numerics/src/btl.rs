//! Bradley–Terry–Luce fit and Fisher information (DESIGN.md §2 "Fit" and "Per-bucket metrics").
//!
//! Owns the numerics of the preference model P(L = 1) = σ(w·x): the penalised maximum-likelihood
//! fit [`fit_btl`] (Newton's method with an Armijo line search, certified detection of separable
//! labels), the label curvature [`curvature`] g(u) = σ(u)(1 − σ(u)), the pooled plug-in
//! information [`fisher_information`] (built on [`crate::moment::SecondMoment`]) and
//! [`standard_errors`]. Rows are a flat row-major `&[f64]` with `d` columns; labels are 0/1 with
//! 1 = side a preferred. Everything here is pure and deterministic: data-parallel passes use a
//! fixed chunk size and combine partial sums in chunk order, so results are bit-identical for any
//! thread count. It never returns NaN, infinity or a diverged estimate, and knows nothing about
//! datasets, buckets, scales or storage (standardisation happens before the rows reach it).

use crate::eigen::{EigenError, sym_eigen};
use crate::moment::{SecondMoment, accumulate_upper, unpack_upper};
use nalgebra::{Cholesky, DMatrix, DVector};
use rayon::prelude::*;
use thiserror::Error;

/// Rows per work unit of a data-parallel pass. Fixed (never derived from the thread count) so
/// that the summation order — within a chunk, then chunk by chunk — is the same on every machine.
pub const CHUNK_ROWS: usize = 4096;

/// Armijo sufficient-decrease constant (the usual 1e-4: any decrease that is not vanishingly
/// small compared with the first-order prediction is accepted).
const ARMIJO: f64 = 1e-4;

/// Step halvings before the line search gives up (α down to 2⁻⁶⁰ ≈ 1e-18).
const MAX_BACKTRACKS: usize = 60;

/// Near the optimum the predicted decrease of f falls below the rounding noise of a sum of N
/// losses, and the Armijo test becomes a coin toss. A full Newton step is then still accepted if
/// it at least halves the gradient norm (the locally quadratic regime) and raises f by no more
/// than this much relative to max(1, |f|), which bounds the noise of the summed objective.
const OBJECTIVE_NOISE: f64 = 1e-12;

/// A Jacobi-scaled Newton matrix (unit diagonal) whose Cholesky pivot falls to this value has a
/// column explained by the previous ones to 1 part in 10¹²: the features are collinear (or a
/// direction has lost all curvature) and the Newton step would be noise.
const SINGULAR_PIVOT: f64 = 1e-12;

/// A candidate recession direction u (unit norm) certifies separation when every non-zero row
/// has s·u·x ≥ −tol·‖x‖ and at least one has s·u·x > tol·‖x‖. 1e-9 sits far above the rounding
/// error of a d-term dot product (≈ d·1e-16·‖x‖) and far below any margin a real overlap leaves.
const RECESSION_TOLERANCE: f64 = 1e-9;

/// Options of [`fit_btl`].
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// ρ ≥ 0 in f(w) = mean NLL + (ρ/2)‖w‖² (on the scale of the *mean* loss).
    pub ridge: f64,
    /// Stop when ‖∇f(w)‖₂ ≤ rel_grad_tol · max(1, ‖∇f(0)‖₂).
    pub rel_grad_tol: f64,
    /// Newton steps allowed before [`BtlError::NotConverged`].
    pub max_iterations: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            ridge: 1e-4,
            rel_grad_tol: 1e-10,
            max_iterations: 100,
        }
    }
}

/// A converged BTL fit.
#[derive(Debug, Clone, PartialEq)]
pub struct BtlFit {
    /// ŵ, in the units of the rows given.
    pub w: Vec<f64>,
    /// Newton steps taken.
    pub iterations: usize,
    /// ‖∇f(ŵ)‖₂ (the residual).
    pub grad_norm: f64,
    /// f(ŵ) = mean NLL + (ρ/2)‖ŵ‖².
    pub objective: f64,
    /// (1/N) Σ log(1 + exp(−s_t ŵ·x_t)).
    pub mean_nll: f64,
}

/// Why [`fit_btl`] (or a helper here) produced no answer.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum BtlError {
    #[error("the feature dimension must be at least 1")]
    ZeroDimension,
    #[error("the row data has {len} values, which is not a multiple of the dimension {d}")]
    RaggedRows { len: usize, d: usize },
    #[error("there are {rows} rows but {labels} labels")]
    LabelCountMismatch { rows: usize, labels: usize },
    #[error("there are no comparisons to fit")]
    Empty,
    #[error("the feature value at row {row}, column {column} is not finite: {value}")]
    NonFiniteFeature {
        row: usize,
        column: usize,
        value: f64,
    },
    #[error(
        "the label at row {row} is {value}; labels must be 0 (side b preferred) or 1 (side a preferred)"
    )]
    InvalidLabel { row: usize, value: u8 },
    #[error("the weight vector has {found} entries but the rows have {expected} columns")]
    WeightDimension { expected: usize, found: usize },
    #[error("the weight vector has a non-finite entry at index {index}: {value}")]
    NonFiniteWeight { index: usize, value: f64 },
    #[error("the ridge must be finite and non-negative, got {0}")]
    InvalidRidge(f64),
    #[error("the relative gradient tolerance must be finite and positive, got {0}")]
    InvalidTolerance(f64),
    #[error("the iteration limit must be at least 1")]
    ZeroIterationLimit,
    #[error(
        "the maximum-likelihood estimate does not exist: the labels are perfectly separable; use --ridge"
    )]
    Separable,
    #[error(
        "the maximum-likelihood estimate does not exist: the labels are quasi-separable ({separated} comparisons are perfectly predicted along one direction); use --ridge"
    )]
    QuasiSeparable { separated: usize },
    #[error(
        "newton's method did not converge in {iterations} iterations (gradient norm {grad_norm:.3e}, tolerance {tolerance:.3e}); raise the iteration limit or use --ridge"
    )]
    NotConverged {
        iterations: usize,
        grad_norm: f64,
        tolerance: f64,
    },
    #[error(
        "the line search found no decrease at iteration {iteration} (gradient norm {grad_norm:.3e}, tolerance {tolerance:.3e}); the tolerance may be below what double precision can reach"
    )]
    LineSearchFailed {
        iteration: usize,
        grad_norm: f64,
        tolerance: f64,
    },
    #[error(
        "the newton system is singular at iteration {iteration}: features are collinear or never vary, so the estimate is not unique; use --ridge"
    )]
    SingularHessian { iteration: usize },
    #[error("the objective or its derivatives became non-finite at iteration {iteration}")]
    NonFiniteIterate { iteration: usize },
    #[error(
        "the information matrix is singular (lambda_min {lambda_min:e}, lambda_max {lambda_max:e}), so standard errors are undefined"
    )]
    SingularInformation { lambda_min: f64, lambda_max: f64 },
    #[error("standard errors need at least one comparison")]
    NoComparisons,
    #[error(transparent)]
    Eigen(#[from] EigenError),
}

/// Label curvature g(u) = σ(u)(1 − σ(u)) ∈ [0, 1/4] at margin u = w·x.
///
/// Written as e/(1 + e)² with e = exp(−|u|), which is symmetric in u, never overflows and keeps
/// full relative accuracy in the saturated tails (g ≈ e^{−|u|}) where σ(1 − σ) would cancel to 0.
pub fn curvature(margin: f64) -> f64 {
    let e = (-margin.abs()).exp();
    let denominator = 1.0 + e;
    e / (denominator * denominator)
}

/// Validated view of the data.
struct Problem<'a> {
    rows: &'a [f64],
    labels: &'a [u8],
    d: usize,
    n: usize,
    /// Rows with at least one non-zero entry (an all-zero row has margin 0 whatever w is, so it
    /// neither prevents nor shows separation).
    nonzero_rows: usize,
}

impl<'a> Problem<'a> {
    /// Validate rows, and labels when given (`None` for label-free passes such as Î).
    fn new(rows: &'a [f64], d: usize, labels: Option<&'a [u8]>) -> Result<Self, BtlError> {
        if d == 0 {
            return Err(BtlError::ZeroDimension);
        }
        if rows.len() % d != 0 {
            return Err(BtlError::RaggedRows { len: rows.len(), d });
        }
        let n = rows.len() / d;
        if let Some(labels) = labels.filter(|labels| labels.len() != n) {
            return Err(BtlError::LabelCountMismatch {
                rows: n,
                labels: labels.len(),
            });
        }
        if n == 0 {
            return Err(BtlError::Empty);
        }
        let mut problem = Self {
            rows,
            labels: labels.unwrap_or(&[]),
            d,
            n,
            nonzero_rows: 0,
        };
        // Chunks are checked in parallel and the first error in chunk order is reported, so the
        // message names the first offending row whatever the thread count.
        let checks = problem.map_chunks(|first_row, block, block_labels| {
            let mut nonzero = 0;
            for (k, x) in block.chunks_exact(d).enumerate() {
                let row = first_row + k;
                if let Some((column, &value)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                    return Err(BtlError::NonFiniteFeature { row, column, value });
                }
                if let Some(&value) = block_labels.get(k).filter(|&&value| value > 1) {
                    return Err(BtlError::InvalidLabel { row, value });
                }
                if x.iter().any(|&v| v != 0.0) {
                    nonzero += 1;
                }
            }
            Ok(nonzero)
        });
        for check in checks {
            problem.nonzero_rows += check?;
        }
        Ok(problem)
    }

    /// Map every chunk (index of its first row, its rows, its labels) to a partial result, in
    /// chunk order. A single chunk runs on the calling thread: small problems do not pay for a
    /// rayon round trip, and the combination order is the same either way.
    fn map_chunks<T, F>(&self, f: F) -> Vec<T>
    where
        T: Send,
        F: Fn(usize, &[f64], &[u8]) -> T + Sync + Send,
    {
        let labels_of = |first_row: usize, rows_in_block: usize| -> &[u8] {
            self.labels
                .get(first_row..first_row + rows_in_block)
                .unwrap_or(&[])
        };
        if self.n <= CHUNK_ROWS {
            vec![f(0, self.rows, labels_of(0, self.n))]
        } else {
            self.rows
                .par_chunks(CHUNK_ROWS * self.d)
                .enumerate()
                .map(|(chunk, block)| {
                    let first_row = chunk * CHUNK_ROWS;
                    f(first_row, block, labels_of(first_row, block.len() / self.d))
                })
                .collect()
        }
    }
}

/// Sums over a set of rows at one w.
struct Sums {
    loss: f64,
    grad: Vec<f64>,
    hess: Vec<f64>,
    /// Non-zero rows with s·w·x ≤ 0 (not yet correctly classified with a margin).
    unseparated: usize,
}

impl Sums {
    fn zero(d: usize) -> Self {
        Self {
            loss: 0.0,
            grad: vec![0.0; d],
            hess: vec![0.0; d * (d + 1) / 2],
            unseparated: 0,
        }
    }

    fn add(&mut self, other: &Sums) {
        self.loss += other.loss;
        self.grad
            .iter_mut()
            .zip(&other.grad)
            .for_each(|(a, b)| *a += b);
        self.hess
            .iter_mut()
            .zip(&other.hess)
            .for_each(|(a, b)| *a += b);
        self.unseparated += other.unseparated;
    }
}

/// Σ log(1 + e_t) over e_t = exp(−|z_t|) ∈ (0, 1] without a logarithm per row.
///
/// `ln_1p` costs about as much as the whole Hessian update of a row at d = 8, so the factors
/// 1 + e_t ≥ 1 + 1e-3 are multiplied together and one `ln` is taken per [`PRODUCT_BLOCK`]
/// factors: each factor is at most 2, so the product cannot overflow, and the rounding of
/// 512 products costs at most ≈ 1e-13 absolute per block, i.e. a relative error below 2e-13 of
/// the block's losses (each ≥ ln(1 + 1e-3)). Factors closer to 1 would lose their digits in
/// 1 + e, so e < 1e-3 goes through the series e − e²/2 + e³/3 − e⁴/4 + e⁵/5 instead, whose
/// truncation (e⁶/6) is below 2e-16 relative: tiny losses of well-separated rows stay accurate.
#[derive(Default)]
struct LogOnePlusSum {
    product: f64,
    factors: u32,
    logs: f64,
    series: f64,
}

const PRODUCT_BLOCK: u32 = 512;
const SERIES_CUTOFF: f64 = 1e-3;

impl LogOnePlusSum {
    fn new() -> Self {
        Self {
            product: 1.0,
            ..Self::default()
        }
    }

    #[inline(always)]
    fn add(&mut self, e: f64) {
        if e < SERIES_CUTOFF {
            self.series += e * (1.0 - e * (0.5 - e * (1.0 / 3.0 - e * (0.25 - e * 0.2))));
        } else {
            self.product *= 1.0 + e;
            self.factors += 1;
            if self.factors == PRODUCT_BLOCK {
                self.flush();
            }
        }
    }

    fn flush(&mut self) {
        self.logs += self.product.ln();
        self.product = 1.0;
        self.factors = 0;
    }

    fn total(mut self) -> f64 {
        self.flush();
        self.logs + self.series
    }
}

/// Per-row scalars of the loss and its derivatives at margin w·x, with the loss accumulated.
///
/// With z = s·w·x and e = e^{−|z|}: log(1 + e^{−z}) = max(−z, 0) + log(1 + e);
/// σ(−z) = e/(1+e) for z ≥ 0 and 1/(1+e) for z < 0; g = σ(z)σ(−z) = e/(1+e)². One `exp` and
/// one division per row, no overflow for any finite z. Returns (∂ℓ/∂margin, g, z).
#[inline(always)]
fn row_terms(margin: f64, label: u8, hinge: &mut f64, logs: &mut LogOnePlusSum) -> (f64, f64, f64) {
    let s = if label == 1 { 1.0 } else { -1.0 };
    let z = s * margin;
    let e = (-z.abs()).exp();
    let inv = 1.0 / (1.0 + e);
    *hinge += (-z).max(0.0);
    logs.add(e);
    let sigma_neg = if z >= 0.0 { e * inv } else { inv };
    (-s * sigma_neg, e * inv * inv, z)
}

/// Loss, gradient and Hessian sums of one chunk in a single sweep over its rows. Dimensions up
/// to 16 use a kernel specialised at compile time (accumulators in fixed-size arrays, loops
/// unrolled), which is about twice as fast at d = 8 as the dynamic one; both perform the same
/// floating-point operations in the same order, so they give identical bits.
fn chunk_sums(block: &[f64], labels: &[u8], w: &[f64]) -> Sums {
    macro_rules! dispatch {
        ($($d:literal)*) => {
            match w.len() {
                $($d => chunk_sums_fixed::<$d>(block, labels, w),)*
                _ => chunk_sums_dynamic(block, labels, w),
            }
        };
    }
    dispatch!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
}

fn chunk_sums_fixed<const D: usize>(block: &[f64], labels: &[u8], w: &[f64]) -> Sums {
    let Ok(w) = <&[f64; D]>::try_from(w) else {
        return chunk_sums_dynamic(block, labels, w);
    };
    let mut grad = [0.0; D];
    let mut hess = [[0.0; D]; D];
    let mut hinge = 0.0;
    let mut logs = LogOnePlusSum::new();
    let mut unseparated = 0;
    for (x, &label) in block.chunks_exact(D).zip(labels) {
        // Always Ok: chunks_exact(D) yields slices of length D.
        let Ok(x) = <&[f64; D]>::try_from(x) else {
            continue;
        };
        let margin: f64 = x.iter().zip(w).map(|(a, b)| a * b).sum();
        let (coefficient, g, z) = row_terms(margin, label, &mut hinge, &mut logs);
        for i in 0..D {
            grad[i] += coefficient * x[i];
        }
        for i in 0..D {
            let scaled = g * x[i];
            for j in i..D {
                hess[i][j] += scaled * x[j];
            }
        }
        if z <= 0.0 && x.iter().any(|&v| v != 0.0) {
            unseparated += 1;
        }
    }
    let mut packed = Vec::with_capacity(D * (D + 1) / 2);
    for (i, row) in hess.iter().enumerate() {
        packed.extend_from_slice(&row[i..]);
    }
    Sums {
        loss: hinge + logs.total(),
        grad: grad.to_vec(),
        hess: packed,
        unseparated,
    }
}

fn chunk_sums_dynamic(block: &[f64], labels: &[u8], w: &[f64]) -> Sums {
    let d = w.len();
    let mut sums = Sums::zero(d);
    let mut hinge = 0.0;
    let mut logs = LogOnePlusSum::new();
    for (x, &label) in block.chunks_exact(d).zip(labels) {
        let margin: f64 = x.iter().zip(w).map(|(a, b)| a * b).sum();
        let (coefficient, g, z) = row_terms(margin, label, &mut hinge, &mut logs);
        for (gr, &xi) in sums.grad.iter_mut().zip(x) {
            *gr += coefficient * xi;
        }
        accumulate_upper(&mut sums.hess, x, g);
        if z <= 0.0 && x.iter().any(|&v| v != 0.0) {
            sums.unseparated += 1;
        }
    }
    sums.loss = hinge + logs.total();
    sums
}

/// f, ∇f and ∇²f at one point.
struct State {
    w: Vec<f64>,
    objective: f64,
    mean_nll: f64,
    grad: Vec<f64>,
    grad_norm: f64,
    hess: DMatrix<f64>,
    unseparated: usize,
}

impl State {
    fn is_finite(&self) -> bool {
        self.objective.is_finite()
            && self.grad_norm.is_finite()
            && self.hess.iter().all(|v| v.is_finite())
    }
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn evaluate(problem: &Problem<'_>, w: Vec<f64>, ridge: f64) -> State {
    let d = problem.d;
    let partials = problem.map_chunks(|_, block, labels| chunk_sums(block, labels, &w));
    let mut total = Sums::zero(d);
    for partial in &partials {
        total.add(partial);
    }
    let inv_n = 1.0 / problem.n as f64;
    let mean_nll = total.loss * inv_n;
    let objective = mean_nll + 0.5 * ridge * w.iter().map(|x| x * x).sum::<f64>();
    let grad: Vec<f64> = total
        .grad
        .iter()
        .zip(&w)
        .map(|(g, wi)| g * inv_n + ridge * wi)
        .collect();
    let mut hess = unpack_upper(d, &total.hess, inv_n);
    for i in 0..d {
        hess[(i, i)] += ridge;
    }
    State {
        grad_norm: norm(&grad),
        w,
        objective,
        mean_nll,
        grad,
        hess,
        unseparated: total.unseparated,
    }
}

/// Solve ∇²f p = −∇f by Cholesky on the Jacobi-scaled matrix D∇²fD (D = diag^{−1/2}), which
/// makes the singularity test independent of the features' units. `None` when singular.
fn newton_direction(hess: &DMatrix<f64>, grad: &[f64]) -> Option<Vec<f64>> {
    let d = grad.len();
    let mut scale = Vec::with_capacity(d);
    for i in 0..d {
        let h = hess[(i, i)];
        if !(h > 0.0 && h.is_finite()) {
            return None;
        }
        scale.push(1.0 / h.sqrt());
    }
    let scaled = DMatrix::from_fn(d, d, |i, j| scale[i] * hess[(i, j)] * scale[j]);
    let cholesky = Cholesky::new(scaled)?;
    let factor = cholesky.l_dirty();
    if (0..d).any(|i| {
        let pivot = factor[(i, i)];
        // Also catches NaN pivots.
        pivot.is_nan() || pivot * pivot <= SINGULAR_PIVOT
    }) {
        return None;
    }
    let mut rhs = DVector::from_iterator(d, grad.iter().zip(&scale).map(|(g, s)| -g * s));
    cholesky.solve_mut(&mut rhs);
    let step: Vec<f64> = rhs.iter().zip(&scale).map(|(y, s)| y * s).collect();
    step.iter().all(|v| v.is_finite()).then_some(step)
}

/// Whether `u` is a recession direction of the unpenalised loss: s·u·x ≥ −tol‖x‖ on every row and
/// > tol‖x‖ on some. Returns the number of rows strictly on the correct side, or `None`.
fn recession_rows(problem: &Problem<'_>, u: &[f64]) -> Option<usize> {
    let length = norm(u);
    if !(length.is_finite() && length > 0.0) {
        return None;
    }
    let unit: Vec<f64> = u.iter().map(|v| v / length).collect();
    let partials = problem.map_chunks(|_, block, labels| {
        let mut strict = 0_usize;
        for (x, &label) in block.chunks_exact(problem.d).zip(labels) {
            let s = if label == 1 { 1.0 } else { -1.0 };
            let a = s * x.iter().zip(&unit).map(|(p, q)| p * q).sum::<f64>();
            let bound = RECESSION_TOLERANCE * norm(x);
            if a < -bound {
                return None;
            }
            if a > bound {
                strict += 1;
            }
        }
        Some(strict)
    });
    let mut strict = 0;
    for partial in partials {
        strict += partial?;
    }
    (strict > 0).then_some(strict)
}

/// With ρ = 0, look for a direction along which the loss decreases forever. Candidates are the
/// directions a diverging Newton run points along: the iterate itself, the last step, and the
/// flattest direction of the Hessian (both signs), whose curvature decays like e^{−margin} under
/// quasi-separation. A candidate is only accepted after an exact check against every row, so
/// this never flags data whose MLE exists; it returns the error to report.
fn separation_error(
    problem: &Problem<'_>,
    state: &State,
    last_step: Option<&[f64]>,
) -> Option<BtlError> {
    let mut candidates: Vec<Vec<f64>> = vec![state.w.clone()];
    if let Some(step) = last_step {
        candidates.push(step.to_vec());
    }
    if let Ok(eigen) = sym_eigen(&state.hess) {
        let v = eigen.min_vector();
        candidates.push(v.iter().map(|x| -x).collect());
        candidates.push(v);
    }
    let separated = candidates.iter().find_map(|u| recession_rows(problem, u))?;
    Some(if separated == problem.nonzero_rows {
        BtlError::Separable
    } else {
        BtlError::QuasiSeparable { separated }
    })
}

fn check_options(opts: &FitOptions) -> Result<(), BtlError> {
    if !(opts.ridge.is_finite() && opts.ridge >= 0.0) {
        return Err(BtlError::InvalidRidge(opts.ridge));
    }
    if !(opts.rel_grad_tol.is_finite() && opts.rel_grad_tol > 0.0) {
        return Err(BtlError::InvalidTolerance(opts.rel_grad_tol));
    }
    if opts.max_iterations == 0 {
        return Err(BtlError::ZeroIterationLimit);
    }
    Ok(())
}

/// Fit ŵ = argmin f(w) = (1/N) Σ log(1 + exp(−s_t w·x_t)) + (ρ/2)‖w‖², s_t = 2L_t − 1.
///
/// `rows` is N×d row-major, `labels[t]` ∈ {0, 1} with 1 = side a preferred. Newton's method from
/// w = 0 with a backtracking (Armijo) line search; one parallel pass per trial point computes the
/// loss, gradient and Hessian together. Stops when ‖∇f(w)‖₂ ≤ `rel_grad_tol`·max(1, ‖∇f(0)‖₂):
/// relative to the gradient at the start, which is (1/2N)‖Σ s_t x_t‖ and so carries the units of
/// the features, with a floor of 1 so that data with almost no signal are not asked for a
/// gradient below rounding level.
///
/// With ρ = 0 the estimate exists only when the labels overlap: perfectly separable labels are
/// reported as [`BtlError::Separable`] (a direction that classifies every non-zero row correctly,
/// found by the iterations and checked against every row) and quasi-separable ones as
/// [`BtlError::QuasiSeparable`]. A diverged vector is never returned.
pub fn fit_btl(
    rows: &[f64],
    d: usize,
    labels: &[u8],
    opts: &FitOptions,
) -> Result<BtlFit, BtlError> {
    check_options(opts)?;
    let problem = Problem::new(rows, d, Some(labels))?;
    let ridge = opts.ridge;
    let unpenalised = ridge == 0.0;
    // Without a ridge, stalling (no convergence, a singular Newton system, a failed line search)
    // usually means the iterates are running off to infinity along a separating direction:
    // report that when it can be certified, otherwise the stall itself.
    let diagnose = |state: &State, last_step: Option<&[f64]>, stall: BtlError| -> BtlError {
        if unpenalised {
            separation_error(&problem, state, last_step).unwrap_or(stall)
        } else {
            stall
        }
    };

    let mut state = evaluate(&problem, vec![0.0; d], ridge);
    if !state.is_finite() {
        return Err(BtlError::NonFiniteIterate { iteration: 0 });
    }
    let tolerance = opts.rel_grad_tol * state.grad_norm.max(1.0);
    let mut last_step: Option<Vec<f64>> = None;
    let mut iteration = 0;
    while state.grad_norm > tolerance {
        if iteration == opts.max_iterations {
            let stall = BtlError::NotConverged {
                iterations: iteration,
                grad_norm: state.grad_norm,
                tolerance,
            };
            return Err(diagnose(&state, last_step.as_deref(), stall));
        }
        let Some(direction) = newton_direction(&state.hess, &state.grad) else {
            let stall = BtlError::SingularHessian { iteration };
            return Err(diagnose(&state, last_step.as_deref(), stall));
        };
        let Some((step, next)) = line_search(&problem, &state, &direction, ridge) else {
            let stall = BtlError::LineSearchFailed {
                iteration,
                grad_norm: state.grad_norm,
                tolerance,
            };
            return Err(diagnose(&state, last_step.as_deref(), stall));
        };
        iteration += 1;
        last_step = Some(step);
        state = next;
        // Every non-zero row strictly on the correct side of w's hyperplane: with ρ = 0 the loss
        // keeps falling along w forever. Confirmed against every row with a tolerance first.
        if unpenalised
            && state.unseparated == 0
            && problem.nonzero_rows > 0
            && recession_rows(&problem, &state.w) == Some(problem.nonzero_rows)
        {
            return Err(BtlError::Separable);
        }
    }
    if unpenalised {
        // Quasi-separation converges in the gradient while w drifts along the recession
        // direction (its gradient component decays like e^{−margin}): check before accepting.
        if let Some(error) = separation_error(&problem, &state, last_step.as_deref()) {
            return Err(error);
        }
        // A stationary point with a singular Hessian (e.g. a duplicated column when the gradient
        // vanishes at w = 0 already) is one of infinitely many minimisers: not an estimate.
        if newton_direction(&state.hess, &state.grad).is_none() {
            return Err(BtlError::SingularHessian { iteration });
        }
    }
    Ok(BtlFit {
        w: state.w,
        iterations: iteration,
        grad_norm: state.grad_norm,
        objective: state.objective,
        mean_nll: state.mean_nll,
    })
}

/// Backtracking along a descent direction from `state`: α = 1, 1/2, 1/4, … until the Armijo
/// condition holds (or, for the full step only, the locally quadratic regime is recognised; see
/// [`OBJECTIVE_NOISE`]). Returns the step taken and the state there, or `None` when no α works.
fn line_search(
    problem: &Problem<'_>,
    state: &State,
    direction: &[f64],
    ridge: f64,
) -> Option<(Vec<f64>, State)> {
    let slope: f64 = state.grad.iter().zip(direction).map(|(g, p)| g * p).sum();
    let noise = OBJECTIVE_NOISE * state.objective.abs().max(1.0);
    let mut alpha = 1.0;
    for _ in 0..=MAX_BACKTRACKS {
        let step: Vec<f64> = direction.iter().map(|p| alpha * p).collect();
        let trial = state.w.iter().zip(&step).map(|(w, s)| w + s).collect();
        let candidate = evaluate(problem, trial, ridge);
        if candidate.is_finite() {
            let armijo = candidate.objective <= state.objective + ARMIJO * alpha * slope;
            let quadratic_regime = alpha == 1.0
                && candidate.grad_norm <= 0.5 * state.grad_norm
                && candidate.objective <= state.objective + noise;
            if armijo || quadratic_regime {
                return Some((step, candidate));
            }
        }
        alpha *= 0.5;
    }
    None
}

fn check_weights(w: &[f64], d: usize) -> Result<(), BtlError> {
    if w.len() != d {
        return Err(BtlError::WeightDimension {
            expected: d,
            found: w.len(),
        });
    }
    match w.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        Some((index, &value)) => Err(BtlError::NonFiniteWeight { index, value }),
        None => Ok(()),
    }
}

/// Streaming accumulator of Σ g(w·x_t) x_t x_tᵀ over all rows (the pooled plug-in information;
/// per-bucket ones are built by the analysis layer with [`SecondMoment`] directly). Its weight
/// sum gives the mean curvature.
pub fn fisher_moment(rows: &[f64], d: usize, w: &[f64]) -> Result<SecondMoment, BtlError> {
    let problem = Problem::new(rows, d, None)?;
    check_weights(w, d)?;
    let partials = problem.map_chunks(|_, block, _| {
        let mut moment = SecondMoment::new(d);
        for x in block.chunks_exact(d) {
            let margin: f64 = x.iter().zip(w).map(|(a, b)| a * b).sum();
            // Rows were validated finite and g ∈ [0, 1/4], so the checks of `add` are redundant.
            moment.push(x, curvature(margin));
        }
        moment
    });
    let mut total = SecondMoment::new(d);
    for partial in &partials {
        total.absorb(partial);
    }
    Ok(total)
}

/// Plug-in Fisher information Î = (1/N) Σ g(w·x_t) x_t x_tᵀ + ridge·I over all rows. With ridge
/// = ρ of the fit this is exactly ∇²f(ŵ).
pub fn fisher_information(
    rows: &[f64],
    d: usize,
    w: &[f64],
    ridge: f64,
) -> Result<DMatrix<f64>, BtlError> {
    if !(ridge.is_finite() && ridge >= 0.0) {
        return Err(BtlError::InvalidRidge(ridge));
    }
    fisher_moment(rows, d, w)?
        .mean_matrix(ridge)
        .map_err(|_| BtlError::Empty)
}

/// Standard errors of ŵ: sqrt of the diagonal of (n·Î)⁻¹, for an information matrix Î averaged
/// over `n` comparisons. Errors when Î is unidentified (λ_min ≤ 1e-12·λ_max), where some linear
/// combination of weights has no finite standard error.
pub fn standard_errors(information: &DMatrix<f64>, n: usize) -> Result<Vec<f64>, BtlError> {
    if n == 0 {
        return Err(BtlError::NoComparisons);
    }
    let eigen = sym_eigen(information)?;
    if !eigen.is_identified() {
        return Err(BtlError::SingularInformation {
            lambda_min: eigen.lambda_min(),
            lambda_max: eigen.lambda_max(),
        });
    }
    let d = eigen.dim();
    let n = n as f64;
    // (nÎ)⁻¹ = Σ_k v_k v_kᵀ / (n λ_k); its diagonal needs no explicit inverse.
    Ok((0..d)
        .map(|j| {
            (0..d)
                .map(|k| eigen.vectors[(j, k)].powi(2) / (n * eigen.values[k]))
                .sum::<f64>()
                .sqrt()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit(rows: &[f64], d: usize, labels: &[u8], ridge: f64) -> Result<BtlFit, BtlError> {
        fit_btl(
            rows,
            d,
            labels,
            &FitOptions {
                ridge,
                ..FitOptions::default()
            },
        )
    }

    #[test]
    fn specialised_and_dynamic_kernels_agree_bit_for_bit() {
        let d = 5;
        let rows: Vec<f64> = (0..700 * d)
            .map(|k| ((k * 37 % 101) as f64 - 50.0) / 17.0)
            .collect();
        let labels: Vec<u8> = (0..700).map(|k| u8::from(k % 3 == 0)).collect();
        let w = [0.3, -1.2, 0.05, 2.0, -0.7];
        let fixed = chunk_sums_fixed::<5>(&rows, &labels, &w);
        let dynamic = chunk_sums_dynamic(&rows, &labels, &w);
        assert_eq!(fixed.loss.to_bits(), dynamic.loss.to_bits());
        assert_eq!(fixed.grad, dynamic.grad);
        assert_eq!(fixed.hess, dynamic.hess);
        assert_eq!(fixed.unseparated, dynamic.unseparated);
    }

    #[test]
    fn log_one_plus_sum_is_accurate() {
        // Margins from 0 to 60: e spans 1 down to 1e-26, crossing the series cut-off.
        let es: Vec<f64> = (0..3000).map(|k| (-(k as f64) * 0.02).exp()).collect();
        let mut fast = LogOnePlusSum::new();
        es.iter().for_each(|&e| fast.add(e));
        let exact: f64 = es.iter().map(|e| e.ln_1p()).sum();
        assert!((fast.total() - exact).abs() <= 1e-14 * exact);
        // Only tiny terms: relative accuracy is kept.
        let mut tiny = LogOnePlusSum::new();
        tiny.add(1e-20);
        tiny.add(3e-4);
        let exact = 1e-20 + 3e-4_f64.ln_1p();
        assert!((tiny.total() - exact).abs() <= 1e-16 * exact);
    }

    #[test]
    fn curvature_values() {
        assert_eq!(curvature(0.0), 0.25);
        let u: f64 = 1.3;
        let s = 1.0 / (1.0 + (-u).exp());
        assert!((curvature(u) - s * (1.0 - s)).abs() < 1e-16);
        assert_eq!(curvature(-u), curvature(u));
        // Saturated tail keeps relative accuracy: g(40) ≈ e^{-40}.
        assert!((curvature(40.0) / (-40.0_f64).exp() - 1.0).abs() < 1e-15);
        assert_eq!(curvature(1e308), 0.0);
    }

    #[test]
    fn rejects_bad_input_with_location() {
        assert_eq!(fit(&[], 0, &[], 0.0), Err(BtlError::ZeroDimension));
        assert_eq!(
            fit(&[1.0, 2.0, 3.0], 2, &[1], 0.0),
            Err(BtlError::RaggedRows { len: 3, d: 2 })
        );
        assert_eq!(
            fit(&[1.0, 2.0], 1, &[1], 0.0),
            Err(BtlError::LabelCountMismatch { rows: 2, labels: 1 })
        );
        assert_eq!(fit(&[], 2, &[], 0.0), Err(BtlError::Empty));
        assert!(matches!(
            fit(&[1.0, 2.0, 3.0, f64::NAN], 2, &[1, 0], 0.0),
            Err(BtlError::NonFiniteFeature {
                row: 1,
                column: 1,
                ..
            })
        ));
        assert_eq!(
            fit(&[1.0, 2.0], 1, &[1, 2], 0.0),
            Err(BtlError::InvalidLabel { row: 1, value: 2 })
        );
        assert_eq!(
            fit(&[1.0], 1, &[1], -1.0),
            Err(BtlError::InvalidRidge(-1.0))
        );
        let opts = FitOptions {
            rel_grad_tol: 0.0,
            ..FitOptions::default()
        };
        assert_eq!(
            fit_btl(&[1.0], 1, &[1], &opts),
            Err(BtlError::InvalidTolerance(0.0))
        );
        let opts = FitOptions {
            max_iterations: 0,
            ..FitOptions::default()
        };
        assert_eq!(
            fit_btl(&[1.0], 1, &[1], &opts),
            Err(BtlError::ZeroIterationLimit)
        );
    }

    #[test]
    fn error_row_is_the_first_across_chunks() {
        let n = 3 * CHUNK_ROWS;
        let mut rows = vec![1.0; n];
        rows[CHUNK_ROWS + 7] = f64::NAN;
        rows[2 * CHUNK_ROWS + 1] = f64::NAN;
        let labels = vec![1; n];
        assert!(matches!(
            fit(&rows, 1, &labels, 0.0),
            Err(BtlError::NonFiniteFeature { row, column: 0, .. }) if row == CHUNK_ROWS + 7
        ));
    }

    #[test]
    fn one_dimensional_closed_form() {
        // x = 1 always, 3 of 4 labels are 1: the MLE is logit(3/4) = ln 3.
        let fit = fit(&[1.0; 4], 1, &[1, 1, 1, 0], 0.0).unwrap();
        assert!((fit.w[0] - 3.0_f64.ln()).abs() < 1e-12);
        let expected_nll = -(0.75 * 0.75_f64.ln() + 0.25 * 0.25_f64.ln());
        assert!((fit.mean_nll - expected_nll).abs() < 1e-15);
        assert_eq!(fit.objective, fit.mean_nll);
        assert!(fit.iterations >= 1 && fit.grad_norm <= 1e-10);
    }

    #[test]
    fn complete_separation_is_reported() {
        let err = fit(&[1.0, 2.0, -1.0, -2.0, 0.0], 1, &[1, 1, 0, 0, 1], 0.0).unwrap_err();
        assert_eq!(err, BtlError::Separable);
        assert_eq!(
            err.to_string(),
            "the maximum-likelihood estimate does not exist: the labels are perfectly separable; use --ridge"
        );
        // The same data with a ridge have a finite, unique estimate.
        let fit = fit(&[1.0, 2.0, -1.0, -2.0, 0.0], 1, &[1, 1, 0, 0, 1], 1e-4).unwrap();
        assert!(fit.w[0].is_finite() && fit.w[0] > 0.0);
    }

    #[test]
    fn quasi_separation_is_reported() {
        // Rows with x₀ ≠ 0 are separated by x₀; rows with x₀ = 0 overlap along x₁.
        let rows = [
            1.0, 0.3, 2.0, -1.0, -1.0, 0.5, -3.0, 1.0, // separated
            0.0, 1.0, 0.0, 2.0, 0.0, -1.0, 0.0, -2.0, // on the hyperplane x₀ = 0
        ];
        let labels = [1, 1, 0, 0, 1, 0, 0, 1];
        assert_eq!(
            fit(&rows, 2, &labels, 0.0),
            Err(BtlError::QuasiSeparable { separated: 4 })
        );
        assert!(fit(&rows, 2, &labels, 1e-4).is_ok());
    }

    #[test]
    fn collinear_or_constant_features_are_singular_without_ridge() {
        let rows = [1.0, 1.0, 0.5, 0.5, -1.0, -1.0, 2.0, 2.0, -0.3, -0.3];
        let labels = [1, 0, 0, 1, 1];
        assert!(matches!(
            fit(&rows, 2, &labels, 0.0),
            Err(BtlError::SingularHessian { .. })
        ));
        let fitted = fit(&rows, 2, &labels, 1e-4).unwrap();
        // The ridge splits the weight evenly between the two copies.
        assert!((fitted.w[0] - fitted.w[1]).abs() < 1e-12);
        let zero_column = [1.0, 0.0, 0.5, 0.0, -1.0, 0.0, 2.0, 0.0, -0.3, 0.0];
        assert!(matches!(
            fit(&zero_column, 2, &labels, 0.0),
            Err(BtlError::SingularHessian { .. })
        ));
        assert_eq!(fit(&zero_column, 2, &labels, 1e-4).unwrap().w[1], 0.0);
        // No information at all: every w is a minimiser.
        assert!(matches!(
            fit(&[0.0, 0.0], 1, &[1, 0], 0.0),
            Err(BtlError::SingularHessian { iteration: 0 })
        ));
    }

    #[test]
    fn iteration_limit_is_an_error() {
        let rows = [1.0, 0.2, -0.5, 1.0, 0.3, -1.0, -1.2, 0.4];
        let labels = [1, 0, 1, 0];
        let opts = FitOptions {
            max_iterations: 1,
            ..FitOptions::default()
        };
        assert!(matches!(
            fit_btl(&rows, 2, &labels, &opts),
            Err(BtlError::NotConverged { iterations: 1, .. })
        ));
    }

    #[test]
    fn standard_errors_from_information() {
        let info = DMatrix::from_row_slice(2, 2, &[4.0, 0.0, 0.0, 0.25]);
        let se = standard_errors(&info, 100).unwrap();
        assert!((se[0] - 0.05).abs() < 1e-16 && (se[1] - 0.2).abs() < 1e-16);
        let singular = DMatrix::from_row_slice(2, 2, &[1.0, 1.0, 1.0, 1.0]);
        assert!(matches!(
            standard_errors(&singular, 10),
            Err(BtlError::SingularInformation { .. })
        ));
        assert_eq!(standard_errors(&info, 0), Err(BtlError::NoComparisons));
    }

    #[test]
    fn fisher_information_matches_second_moment() {
        let rows = [1.0, 0.2, -0.5, 1.0, 0.3, -1.0];
        let w = [0.7, -0.4];
        let info = fisher_information(&rows, 2, &w, 0.1).unwrap();
        let mut moment = SecondMoment::new(2);
        for x in rows.chunks_exact(2) {
            moment.add(x, curvature(x[0] * w[0] + x[1] * w[1])).unwrap();
        }
        assert_eq!(info, moment.mean_matrix(0.1).unwrap());
        assert!(matches!(
            fisher_information(&rows, 2, &[1.0], 0.0),
            Err(BtlError::WeightDimension {
                expected: 2,
                found: 1
            })
        ));
    }
}
