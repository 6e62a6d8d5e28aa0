//! E- and group-robust E-optimal designs by a primal–dual interior-point method.
//!
//! Owns the epigraph formulation, in σ (free mass) and τ:
//!
//! ```text
//! maximize τ  s.t.  S_g = C_g + Σ_a σ_a Ã_a^g − τI ⪰ 0  (every group g)
//!                   σ_a ≥ 0,  Σ c_a σ_a ≤ t,  Σ σ_a = 1
//! ```
//!
//! solved by an infeasible-start path-following method with Nesterov–Todd scaling and
//! Mehrotra's predictor–corrector (the scheme of CVXOPT's `coneqp`). The LMI blocks are kept
//! in scaled form (S = RΛRᵀ, Z = R⁻ᵀΛR⁻¹, see [`Block`]), which is what lets the method reach
//! a 1e-9 gap in double precision. The Newton system is solved in whichever space is
//! smaller: the (n+1)×(n+1) Schur matrix H_ab = Σ_g tr(Ã_a W_g⁻¹ Ã_b W_g⁻¹) plus diagonal
//! and budget terms (built from the low-rank factors of [`super::lowrank`]), or, early in a
//! run with many arms, the G·d(d+1)/2-dimensional normal equations ([`DualKkt`]); one
//! equality row is eliminated through a scalar Schur complement, and once the gap is small
//! one step of iterative refinement follows each solve. Arms whose bound σ_a ≥ 0 is clearly
//! active leave the working set as the method runs ([`Ipm::shrink`]); the final certificate
//! prices them again, and any that would improve the answer are put back for another run
//! (every dropped arm when none prices as improving but the gap is still missed), which
//! drops no arms. Entry point:
//! [`solve`]. It must not report its own duality gap as the answer: [`super::certify`]
//! recomputes the objective and the gap from π and the dual matrices Z_g.

use nalgebra::{DMatrix, DVector, DVectorView};

use super::certify::{self, Evaluated};
use super::linalg::{
    SpdFactor, cholesky_lower, max_step_psd, min_eigenvalue, mul, mul_tr, smat, sorted_eigen, svec,
    svec_len, tr_mul,
};
use super::lowrank::{GroupFactor, Prepared};
use super::polytope::{Polytope, lp_max_costs, repair};
use super::{DesignError, DesignProblem, DesignSolution, SolverOptions};

/// Fraction of the distance to the cone boundary taken by a step.
const STEP_FRACTION: f64 = 0.99;
/// A group whose total information has λ_min below this fraction of λ_max is singular in
/// solver units: λ_min(X_g(π)) = 0 at every feasible π.
const SINGULAR_TOL: f64 = 1e-12;
/// Iterative-refinement steps per Newton solve.
const REFINEMENT_STEPS: usize = 1;
/// Iterative-refinement steps when the Schur matrix was regularized.
const REFINEMENT_STEPS_SHIFTED: usize = 3;
/// Above this gap (relative) an unshifted Newton system is solved without refinement: far
/// from the optimum a direction accurate to rounding of the factorization is plenty (the
/// infeasible-start method absorbs the residual it leaves), and the refinement would cost a
/// third of the solve work of an iteration.
const REFINE_GAP: f64 = 1e-3;
/// The dual-space Newton system is used only while the gap is above this (relative).
const DUAL_FORM_GAP: f64 = 1e-5;
/// An arm leaves the working set when σ_a < SHRINK·√μ and z_a > √μ / SHRINK: on the
/// central path σ_a z_a ≈ μ, so its bound is active with a margin of 10⁴ in the ratio.
const SHRINK: f64 = 1e-2;
/// Shrinking starts once the gap is below this (relative).
const SHRINK_GAP: f64 = 1e-1;

/// Solve an E or E_robust problem and certify the answer. Also returns the dual matrices
/// Z_g ⪰ 0 (Σ_g tr Z_g = 1) that certify it.
pub(crate) fn solve(
    prep: &Prepared,
    poly: &Polytope,
    problem: &DesignProblem,
    opts: &SolverOptions,
) -> Result<(DesignSolution, Vec<DMatrix<f64>>), DesignError> {
    let allowed = poly.allowed_arms();
    if poly.is_point() {
        let ev = certify::evaluate(problem, poly.point());
        let z = eigen_dual(&ev);
        let gap = certify::e_gap(prep, poly, &z, ev.objective);
        return Ok((certify::finish(problem, ev, gap, 0), normalized(z)));
    }
    // λ_min(X_g(π)) = 0 at every π when the allowed arms and the min masses miss a direction
    // of some group: every feasible π is optimal, the null direction certifies it.
    for (g, f) in prep.factors.iter().enumerate() {
        let ones: Vec<f64> = (0..poly.arms())
            .map(|a| if poly.allowed[a] { 1.0 } else { 0.0 })
            .collect();
        let total = &prep.base[g] + f.combine(&ones);
        let e = sorted_eigen(&total);
        let top = e.values.last().copied().unwrap_or(0.0).max(0.0);
        if e.values[0] <= SINGULAR_TOL * top.max(f64::MIN_POSITIVE) {
            let sigma_set = poly.interior(&allowed);
            let ev = certify::evaluate(problem, spread(poly, &allowed, &sigma_set));
            let mut z: Vec<DMatrix<f64>> = prep.base.iter().map(|b| b * 0.0).collect();
            let v = e.vectors.column(0);
            z[g] = v * v.transpose();
            let gap = certify::e_gap(prep, poly, &z, ev.objective);
            return Ok((certify::finish(problem, ev, gap, 0), normalized(z)));
        }
    }

    let target = |objective: f64| opts.tol * objective.abs().max(1.0);
    let mut set = allowed.clone();
    let mut iterations = 0;
    let mut shrinking = true;
    loop {
        let budget = opts.max_iterations.saturating_sub(iterations);
        let mut run = Ipm::new(prep, poly, &set, opts.tol)?;
        run.shrinking = shrinking;
        let outcome = run.run(budget);
        iterations += outcome.iterations;
        let ev: Evaluated = certify::evaluate(problem, spread(poly, &outcome.set, &outcome.sigma));
        let gap = certify::e_gap(prep, poly, &outcome.z, ev.objective);
        if gap <= target(ev.objective) {
            return Ok((
                certify::finish(problem, ev, gap, iterations),
                normalized(outcome.z),
            ));
        }
        // Arms outside the working set that the dual prices as improving.
        let added = super::arms_to_add(
            price(prep, poly, &outcome.set, &outcome),
            shrinking,
            &outcome.set,
            &allowed,
        );
        // Later rounds keep every arm they start with: the shrinking rule misjudged this
        // problem (e.g. a cost cap barely above the cheapest cost keeps every other σ_a tiny
        // without its bound being active), and repeating it could cycle.
        shrinking = false;
        if added.is_empty() || iterations >= opts.max_iterations || !outcome.converged {
            return Err(DesignError::NotConverged {
                iterations,
                gap,
                target: target(ev.objective),
            });
        }
        set = outcome.set.clone();
        set.extend(added);
        set.sort_unstable();
    }
}

/// Dual matrices scaled to total trace one (they are unit-free: λ = ⟨Z, X⟩ for trace one).
fn normalized(z: Vec<DMatrix<f64>>) -> Vec<DMatrix<f64>> {
    let total: f64 = z.iter().map(|m| m.trace()).sum();
    if total > 0.0 && total.is_finite() {
        z.into_iter().map(|m| m / total).collect()
    } else {
        z
    }
}

/// σ over `set` → feasible π over all arms.
fn spread(poly: &Polytope, set: &[usize], sigma: &[f64]) -> Vec<f64> {
    let mut full = vec![0.0; poly.arms()];
    for (&a, &s) in set.iter().zip(sigma) {
        full[a] = s;
    }
    poly.to_pi(&full)
}

/// Z_g = v vᵀ for the eigenvector of the smallest eigenvalue of the group attaining the
/// minimum: a valid (if crude) dual point when no interior-point run happened.
fn eigen_dual(ev: &Evaluated) -> Vec<DMatrix<f64>> {
    let mut worst = 0;
    for (g, e) in ev.eig.iter().enumerate() {
        if e.values[0] < ev.eig[worst].values[0] {
            worst = g;
        }
    }
    ev.eig
        .iter()
        .enumerate()
        .map(|(g, e)| {
            let v = e.vectors.column(0);
            if g == worst {
                v * v.transpose()
            } else {
                DMatrix::zeros(v.len(), v.len())
            }
        })
        .collect()
}

/// Allowed arms outside the working set with a positive reduced price at the run's duals.
fn price(prep: &Prepared, poly: &Polytope, set: &[usize], out: &RunOutcome) -> Vec<usize> {
    let mut inside = vec![false; poly.arms()];
    for &a in set {
        inside[a] = true;
    }
    let mut v = vec![0.0; poly.arms()];
    for (f, zg) in prep.factors.iter().zip(&out.z) {
        for (acc, x) in v.iter_mut().zip(f.inner(zg)) {
            *acc += x;
        }
    }
    (0..poly.arms())
        .filter(|&a| poly.allowed[a] && !inside[a])
        .filter(|&a| v[a] - out.y - out.cost_dual * out.cost_of(a) > 0.0)
        .collect()
}

pub(crate) struct RunOutcome {
    /// The final working set and σ over it.
    set: Vec<usize>,
    sigma: Vec<f64>,
    /// Dual matrices (solver units).
    z: Vec<DMatrix<f64>>,
    /// Multiplier of Σσ = 1 and of the cost cap (solver units, costs normalized).
    y: f64,
    cost_dual: f64,
    cost_scale: f64,
    costs: Vec<f64>,
    iterations: usize,
    converged: bool,
}

impl RunOutcome {
    fn cost_of(&self, arm: usize) -> f64 {
        self.costs[arm] / self.cost_scale
    }
}

/// One LMI block kept in Nesterov–Todd scaled form: S = R Λ Rᵀ, Z = R⁻ᵀ Λ R⁻¹ with Λ
/// diagonal (the scaling point W = R Rᵀ satisfies W Z W = S). Near the optimum S and Z are
/// complementary and W has a condition number of about 1/μ; working with R (about 1/√μ)
/// and updating it by the scaling of the well-conditioned scaled pair (Λ + αΔs̃, Λ + αΔz̃),
/// instead of recomputing W from S and Z, is what keeps the late iterations accurate.
#[derive(Clone)]
struct Block {
    r: DMatrix<f64>,
    rinv: DMatrix<f64>,
    lambda: DVector<f64>,
}

impl Block {
    /// NT scaling of a pair of positive definite matrices: with S = L₁L₁ᵀ, Z = L₂L₂ᵀ and
    /// L₂ᵀL₁ = U Σ Vᵀ, R = L₁ V Σ^{-1/2} and Λ = Σ.
    fn from_pair(s: &DMatrix<f64>, z: &DMatrix<f64>) -> Option<Block> {
        // With S = L Lᵀ and Lᵀ Z L = V Σ² Vᵀ: R = L V Σ^{-1/2}, Λ = Σ. (The singular values of
        // L_zᵀL would avoid squaring, but the pairs scaled here are well conditioned — near
        // the central path both are close to Λ — and the symmetric eigensolver is twice as
        // fast as the SVD.)
        let l = cholesky_lower(s)?;
        let g = tr_mul(&l, &mul(z, &l));
        let eig = g.symmetric_eigen();
        let mut lambda = DVector::zeros(eig.eigenvalues.len());
        for (k, &e) in eig.eigenvalues.iter().enumerate() {
            if !(e > 0.0 && e.is_finite()) {
                return None;
            }
            lambda[k] = e.sqrt();
        }
        let v = eig.eigenvectors;
        let mut r = mul(&l, &v);
        // R⁻¹ = Σ^{1/2} Vᵀ L⁻¹ = Σ^{1/2} (L⁻ᵀ V)ᵀ: one triangular solve, no explicit inverse.
        let mut rinv = l.tr_solve_lower_triangular(&v)?.transpose();
        for (k, &lk) in lambda.iter().enumerate() {
            r.column_mut(k).scale_mut(1.0 / lk.sqrt());
            rinv.row_mut(k).scale_mut(lk.sqrt());
        }
        Some(Block { r, rinv, lambda })
    }

    fn z(&self) -> DMatrix<f64> {
        let mut lr = self.rinv.clone();
        for (k, &l) in self.lambda.iter().enumerate() {
            lr.row_mut(k).scale_mut(l);
        }
        tr_mul(&self.rinv, &lr)
    }

    fn gap(&self) -> f64 {
        self.lambda.norm_squared()
    }

    /// Move to (Λ + αΔs̃, Λ + αΔz̃) in the current scaled coordinates and rescale.
    fn update(&mut self, ds: &DMatrix<f64>, dz: &DMatrix<f64>, alpha: f64) -> Option<()> {
        let mut s1 = ds * alpha;
        let mut z1 = dz * alpha;
        for (i, &l) in self.lambda.iter().enumerate() {
            s1[(i, i)] += l;
            z1[(i, i)] += l;
        }
        symmetrize(&mut s1);
        symmetrize(&mut z1);
        let next = Block::from_pair(&s1, &z1)?;
        self.r = mul(&self.r, &next.r);
        self.rinv = mul(&next.rinv, &self.rinv);
        self.lambda = next.lambda;
        Some(())
    }

    /// Largest α ≤ `cap` with Λ + αΔ ⪰ 0 (conservative, see [`max_step_psd`]).
    fn max_step(&self, delta: &DMatrix<f64>, cap: f64) -> f64 {
        let d = self.lambda.len();
        let inv: Vec<f64> = self.lambda.iter().map(|l| 1.0 / l.sqrt()).collect();
        let scaled = DMatrix::from_fn(d, d, |i, j| {
            0.5 * (delta[(i, j)] + delta[(j, i)]) * inv[i] * inv[j]
        });
        max_step_psd(&scaled, cap)
    }
}

/// Primal and dual iterates. Orthant variables: s_lb = slack of σ ≥ 0, s_b = slack of the
/// cost cap, with duals z_lb, z_b; LMI blocks in scaled form; y the multiplier of Σσ = 1.
#[derive(Clone)]
struct Iterate {
    sigma: DVector<f64>,
    tau: f64,
    y: f64,
    s_lb: DVector<f64>,
    z_lb: DVector<f64>,
    s_b: f64,
    z_b: f64,
    blocks: Vec<Block>,
}

/// Per-iteration scaled data of one group: U = R⁻¹ L (scaled arm factors), P = R⁻¹R⁻ᵀ (the
/// scaled image of the identity, i.e. of the τ column), Φ = [svec(U_a U_aᵀ)] and svec(P).
/// Inner products with and combinations of the scaled arm matrices go through Φ (p·n flops)
/// rather than through U (d²·Σ rank).
struct Frame {
    u: DMatrix<f64>,
    p: DMatrix<f64>,
    phi: DMatrix<f64>,
    ptau: DVector<f64>,
}

impl Frame {
    /// (⟨U_a U_aᵀ, M⟩)_a for symmetric M.
    fn inner(&self, m: &DMatrix<f64>) -> DVector<f64> {
        self.phi.tr_mul(&svec(m))
    }

    /// t·P − Σ_a w_a U_a U_aᵀ (the scaled image G̃(w, t) of a (σ, τ) direction), built in
    /// place: these run several times per iteration, and temporaries are most of their cost
    /// at small d.
    fn image(&self, w: DVectorView<'_, f64>, t: f64) -> DMatrix<f64> {
        let mut v = DVector::zeros(self.phi.nrows());
        v.gemv(-1.0, &self.phi, &w, 0.0);
        let mut m = smat(v.as_slice(), self.p.nrows());
        m.zip_apply(&self.p, |x, p| *x += t * p);
        m
    }
}

/// A Newton direction: Δσ, Δτ, Δy; orthant parts unscaled; LMI parts scaled (Δs̃, Δz̃).
struct Direction {
    sigma: DVector<f64>,
    tau: f64,
    y: f64,
    s_lb: DVector<f64>,
    z_lb: DVector<f64>,
    s_b: f64,
    z_b: f64,
    s: Vec<DMatrix<f64>>,
    z: Vec<DMatrix<f64>>,
}

/// Cone-row vectors: orthant parts unscaled, LMI parts scaled.
struct ConeVec {
    lb: DVector<f64>,
    b: f64,
    sdp: Vec<DMatrix<f64>>,
}

struct Residuals {
    r_sigma: DVector<f64>,
    r_tau: f64,
    r_y: f64,
    r_lb: DVector<f64>,
    r_b: f64,
    /// Scaled LMI residuals R⁻¹ (S − X(σ) + τI) R⁻ᵀ.
    r_sdp: Vec<DMatrix<f64>>,
}

impl Residuals {
    fn rhs_x(&self, eta: f64) -> DVector<f64> {
        let n = self.r_sigma.len();
        DVector::from_fn(n + 1, |i, _| {
            if i < n {
                -eta * self.r_sigma[i]
            } else {
                -eta * self.r_tau
            }
        })
    }
}

struct Ipm<'a> {
    base: &'a [DMatrix<f64>],
    /// The working set (arm indices) and its factors, costs and iterates.
    set: Vec<usize>,
    fac: Vec<GroupFactor>,
    costs: DVector<f64>,
    all_costs: Vec<f64>,
    cost_scale: f64,
    cap: Option<f64>,
    n: usize,
    d: usize,
    tol: f64,
    kappa: f64,
    x: Iterate,
    /// Whether arms at their bound may leave the working set during the run.
    shrinking: bool,
}

impl<'a> Ipm<'a> {
    fn new(
        prep: &'a Prepared,
        poly: &Polytope,
        set: &[usize],
        tol: f64,
    ) -> Result<Ipm<'a>, DesignError> {
        let n = set.len();
        let d = prep.dim;
        let groups = prep.groups();
        let fac: Vec<GroupFactor> = prep.factors.iter().map(|f| f.gather(set)).collect();
        let cost_scale = set
            .iter()
            .map(|&a| poly.costs[a])
            .fold(0.0f64, f64::max)
            .max(f64::MIN_POSITIVE);
        let costs = DVector::from_iterator(n, set.iter().map(|&a| poly.costs[a] / cost_scale));
        let cap = poly.cap.map(|t| t / cost_scale);

        // Primal start: a strictly interior σ, τ one unit below λ_min so that S ⪰ I.
        let sigma = DVector::from_vec(poly.interior(set));
        let x0: Vec<DMatrix<f64>> = fac
            .iter()
            .zip(&prep.base)
            .map(|(f, c)| c + f.combine(sigma.as_slice()))
            .collect();
        let lam0 = x0.iter().map(min_eigenvalue).fold(f64::INFINITY, f64::min);
        let tau = lam0 - 1.0;
        let s: Vec<DMatrix<f64>> = x0
            .iter()
            .map(|x| x - DMatrix::identity(d, d) * tau)
            .collect();
        // Dual start: Z_g = I/(G d) satisfies Σ tr Z_g = 1; z_lb from stationarity, centred.
        let z: Vec<DMatrix<f64>> = (0..groups)
            .map(|_| DMatrix::identity(d, d) / (groups * d) as f64)
            .collect();
        let mu0: f64 = s.iter().zip(&z).map(|(a, b)| a.dot(b)).sum::<f64>() / (groups * d) as f64;
        let mut v = vec![0.0; n];
        for (f, zg) in fac.iter().zip(&z) {
            for (acc, x) in v.iter_mut().zip(f.inner(zg)) {
                *acc += x;
            }
        }
        let (s_b, z_b) = match cap {
            Some(t) => {
                let sb = t - costs.dot(&sigma);
                (sb, mu0 / sb)
            }
            None => (1.0, 0.0),
        };
        let y = (0..n)
            .map(|a| v[a] - costs[a] * z_b + mu0 / sigma[a])
            .fold(f64::NEG_INFINITY, f64::max);
        let z_lb = DVector::from_fn(n, |a, _| y + costs[a] * z_b - v[a]);
        let blocks = s
            .iter()
            .zip(&z)
            .map(|(s, z)| Block::from_pair(s, z))
            .collect::<Option<Vec<_>>>()
            .ok_or(DesignError::Numerical(
                "initial point of the e-design method",
            ))?;
        let x = Iterate {
            s_lb: sigma.clone(),
            sigma,
            tau,
            y,
            z_lb,
            s_b,
            z_b,
            blocks,
        };
        Ok(Ipm {
            base: &prep.base,
            set: set.to_vec(),
            fac,
            costs,
            all_costs: poly.costs.clone(),
            cost_scale,
            cap,
            n,
            d,
            tol,
            kappa: prep.kappa,
            x,
            shrinking: true,
        })
    }

    fn groups(&self) -> usize {
        self.fac.len()
    }

    /// The gap target in solver units for an objective of about `value` (solver units):
    /// tol · max(1, |objective|) in input units, where solver units are κ times larger.
    fn target(&self, value: f64) -> f64 {
        self.tol * value.abs().max(self.kappa)
    }

    /// Gap between the exact LP bound from the current Z and λ_min(X(σ)), on the working set.
    fn certified_gap(&self) -> f64 {
        let n = self.n;
        // σ made exactly feasible, as the final answer will be.
        let mut sigma: Vec<f64> = self.x.sigma.iter().copied().collect();
        if !repair(&mut sigma, self.costs.as_slice(), self.cap) {
            return f64::INFINITY;
        }
        let lower = self
            .fac
            .iter()
            .zip(self.base)
            .map(|(f, c)| min_eigenvalue(&(c + f.combine(&sigma))))
            .fold(f64::INFINITY, f64::min);
        let z: Vec<DMatrix<f64>> = self.x.blocks.iter().map(Block::z).collect();
        let trz: f64 = z.iter().map(|m| m.trace()).sum();
        let mut v = vec![0.0; n];
        let mut fixed = 0.0;
        for ((f, c), zg) in self.fac.iter().zip(self.base).zip(&z) {
            for (acc, x) in v.iter_mut().zip(f.inner(zg)) {
                *acc += x / trz;
            }
            fixed += c.dot(zg) / trz;
        }
        let upper = fixed + lp_max_costs(self.costs.as_slice(), &v, self.cap);
        upper - lower
    }

    /// Drop arms whose lower bound is clearly active (see [`SHRINK`]). Their σ_a (at most
    /// SHRINK·√μ each) leaves a small primal residual that the infeasible-start method
    /// absorbs; the final certificate prices every dropped arm again.
    fn shrink(&mut self) {
        let gap = self.gap();
        // Only once the iterates have settled: early on, σ and z_lb say little.
        if !self.shrinking || gap > SHRINK_GAP * self.x.tau.abs().max(1.0) {
            return;
        }
        let root = (gap / self.degree()).sqrt();
        let x = &self.x;
        let keep: Vec<usize> = (0..self.n)
            .filter(|&a| !(x.sigma[a] < SHRINK * root && x.z_lb[a] > root / SHRINK))
            .collect();
        if keep.len() == self.n || keep.is_empty() {
            return;
        }
        let pick =
            |v: &DVector<f64>| DVector::from_iterator(keep.len(), keep.iter().map(|&a| v[a]));
        let x = &mut self.x;
        x.sigma = pick(&x.sigma);
        x.s_lb = pick(&x.s_lb);
        x.z_lb = pick(&x.z_lb);
        self.costs = pick(&self.costs);
        self.fac = self.fac.iter().map(|f| f.gather(&keep)).collect();
        self.set = keep.iter().map(|&a| self.set[a]).collect();
        self.n = keep.len();
    }

    /// Degree of the cone (the μ normalizer).
    fn degree(&self) -> f64 {
        (self.n + self.groups() * self.d + usize::from(self.cap.is_some())) as f64
    }

    fn gap(&self) -> f64 {
        let x = &self.x;
        let mut g = x.s_lb.dot(&x.z_lb);
        if self.cap.is_some() {
            g += x.s_b * x.z_b;
        }
        g + x.blocks.iter().map(Block::gap).sum::<f64>()
    }

    fn frames(&self) -> Vec<Frame> {
        self.x
            .blocks
            .iter()
            .zip(&self.fac)
            .map(|(b, f)| {
                let u = mul(&b.rinv, &f.l);
                let p = mul_tr(&b.rinv, &b.rinv);
                let phi = f.svec_columns(&u, None);
                let ptau = svec(&p);
                Frame { u, p, phi, ptau }
            })
            .collect()
    }

    fn outcome(&self, iterations: usize, converged: bool) -> RunOutcome {
        RunOutcome {
            set: self.set.clone(),
            sigma: self.x.sigma.iter().copied().collect(),
            z: self.x.blocks.iter().map(Block::z).collect(),
            y: self.x.y,
            cost_dual: if self.cap.is_some() { self.x.z_b } else { 0.0 },
            cost_scale: self.cost_scale,
            costs: self.all_costs.clone(),
            iterations,
            converged,
        }
    }

    /// Iterate until the certificate (in solver units) meets the target, the method stalls,
    /// or the iteration budget is spent. Returns the iterate with the best certificate seen:
    /// once the method has passed the accuracy double precision supports, later iterates
    /// can only be worse.
    fn run(&mut self, max_iterations: usize) -> RunOutcome {
        let mut iterations = 0;
        let mut best: Option<(f64, RunOutcome)> = None;
        loop {
            let frames = self.frames();
            let res = self.residuals(&frames);
            let gap = self.gap();
            // Cheap filter first (the method's own gap), then the certificate in solver units:
            // λ_min of X(σ) against the exact LP bound from Z. Residuals are not part of the
            // test: the certificate holds for any σ on the simplex and any Z ⪰ 0, and S is
            // only the method's auxiliary (in the scaled update it drifts in directions where
            // it is large and irrelevant).
            let target = self.target(self.x.tau);
            if gap <= target {
                let certified = self.certified_gap();
                if certified <= target {
                    return self.outcome(iterations, true);
                }
                if best.as_ref().is_none_or(|(b, _)| certified < *b) {
                    best = Some((certified, self.outcome(iterations, false)));
                }
                if gap <= 1e-6 * target {
                    // Converged as far as double precision lets the method go.
                    break;
                }
            }
            if iterations >= max_iterations {
                break;
            }
            let Some(step) = self.iterate(&frames, &res, gap) else {
                // The scaling or the Newton system lost definiteness: the iterate is as
                // accurate as double precision allows here; the certificate decides.
                break;
            };
            iterations += 1;
            if step < 1e-12 {
                break;
            }
            self.shrink();
        }
        match best {
            Some((_, mut out)) => {
                out.iterations = iterations;
                out
            }
            None => self.outcome(iterations, false),
        }
    }

    fn residuals(&self, frames: &[Frame]) -> Residuals {
        let x = &self.x;
        let n = self.n;
        let d = self.d;
        // ⟨Ã_a, Z_g⟩ = ⟨U_a U_aᵀ, Λ⟩, tr Z_g = ⟨P, Λ⟩.
        let mut v: DVector<f64> = DVector::zeros(n);
        let mut trace_z = 0.0;
        for (fr, b) in frames.iter().zip(&x.blocks) {
            let lam = DMatrix::from_diagonal(&b.lambda);
            v += fr.inner(&lam);
            trace_z += (0..d).map(|i| b.lambda[i] * fr.p[(i, i)]).sum::<f64>();
        }
        let r_sigma = DVector::from_fn(n, |a, _| -x.z_lb[a] + self.costs[a] * x.z_b - v[a] + x.y);
        let r_tau = trace_z - 1.0;
        let r_y = x.sigma.sum() - 1.0;
        let r_lb = &x.s_lb - &x.sigma;
        let r_b = match self.cap {
            Some(t) => self.costs.dot(&x.sigma) + x.s_b - t,
            None => 0.0,
        };
        // Scaled: Λ − R⁻¹CR⁻ᵀ − Σσ U_aU_aᵀ + τP.
        let r_sdp = frames
            .iter()
            .zip(&x.blocks)
            .enumerate()
            .map(|(g, (fr, b))| {
                let rc = mul_tr(&mul(&b.rinv, &self.base[g]), &b.rinv);
                let mut rs = fr.image(x.sigma.rows(0, n), x.tau);
                rs -= rc;
                for i in 0..d {
                    rs[(i, i)] += b.lambda[i];
                }
                symmetrize(&mut rs);
                rs
            })
            .collect();
        Residuals {
            r_sigma,
            r_tau,
            r_y,
            r_lb,
            r_b,
            r_sdp,
        }
    }

    /// Factor the Newton system in whichever space is smaller: the (n+1)-dimensional Schur
    /// complement in (σ, τ), or the G·d(d+1)/2-dimensional one in the scaled dual matrices
    /// (few dimensions, many arms).
    fn newton(&self, frames: &[Frame], d_lb: &DVector<f64>, d_b: f64, gap: f64) -> Option<Newton> {
        let n = self.n as f64;
        let big_p = (self.groups() * svec_len(self.d)) as f64;
        let cost_primal = n * n * big_p.min(self.d as f64 * n) + n * n * n / 3.0;
        let cost_dual = n * big_p * big_p + big_p * big_p * big_p / 3.0;
        // The dual form loses digits as z_lb/s_lb spreads over many orders of magnitude; by
        // the time the gap is this small, shrinking has made the primal form cheap.
        let early = gap > DUAL_FORM_GAP * self.x.tau.abs().max(1.0);
        if early && cost_dual < cost_primal {
            DualKkt::new(frames, d_lb, d_b, &self.costs).map(|k| Newton::Dual(Box::new(k)))
        } else {
            self.primal_kkt(frames, d_lb, d_b).map(Newton::Primal)
        }
    }

    fn primal_kkt(&self, frames: &[Frame], d_lb: &DVector<f64>, d_b: f64) -> Option<Kkt> {
        let n = self.n;
        let mut hs = DMatrix::zeros(n, n);
        let mut h_tau: DVector<f64> = DVector::zeros(n);
        let mut h_tt = 0.0;
        for (f, fr) in self.fac.iter().zip(frames) {
            f.add_schur_scaled(&fr.u, Some(&fr.phi), &mut hs);
            h_tau -= fr.phi.tr_mul(&fr.ptau);
            h_tt += fr.ptau.norm_squared();
        }
        for a in 0..n {
            hs[(a, a)] += d_lb[a];
        }
        if d_b > 0.0 {
            hs.ger(d_b, &self.costs, &self.costs, 1.0);
        }
        let mut h = DMatrix::zeros(n + 1, n + 1);
        h.view_mut((0, 0), (n, n)).copy_from(&hs);
        h.view_mut((0, n), (n, 1)).copy_from(&h_tau);
        h.view_mut((n, 0), (1, n)).copy_from(&h_tau.transpose());
        h[(n, n)] = h_tt;
        Kkt::new(h, n)
    }

    /// One predictor–corrector iteration; returns the step length, `None` on breakdown.
    fn iterate(&mut self, frames: &[Frame], res: &Residuals, gap: f64) -> Option<f64> {
        let n = self.n;
        let d = self.d;
        let mu = gap / self.degree();
        let x = &self.x;
        let d_lb = x.z_lb.component_div(&x.s_lb);
        let d_b = if self.cap.is_some() {
            x.z_b / x.s_b
        } else {
            0.0
        };
        let newton = self.newton(frames, &d_lb, d_b, gap)?;
        let far = gap > REFINE_GAP * self.x.tau.abs().max(1.0);
        let refinement = match newton.refinement() {
            REFINEMENT_STEPS if far => 0,
            steps => steps,
        };
        let sys = System {
            ipm: self,
            frames,
            newton: &newton,
            d_lb: &d_lb,
            d_b,
            refinement,
        };

        // Predictor (affine scaling): rhs_s = −λ∘λ, i.e. r_λ = −λ and Wᵀr_λ = −s.
        let bz_aff = ConeVec {
            lb: &x.s_lb - &res.r_lb,
            b: x.s_b - res.r_b,
            sdp: x
                .blocks
                .iter()
                .zip(&res.r_sdp)
                .map(|(b, r)| DMatrix::from_diagonal(&b.lambda) - r)
                .collect(),
        };
        let rl_aff: Vec<DMatrix<f64>> = x
            .blocks
            .iter()
            .map(|b| DMatrix::from_diagonal(&b.lambda) * -1.0)
            .collect();
        let aff = sys.direction(
            &res.rhs_x(1.0),
            -res.r_y,
            &bz_aff,
            &res.r_lb * -1.0,
            -res.r_b,
            &rl_aff,
        );
        let alpha_aff = self.max_step(&aff).min(1.0);
        let mu_aff = self.gap_after(&aff, alpha_aff) / self.degree();
        // Mehrotra's centring (μ_aff/μ)^k: k = 2 rather than the usual 3 centres a little
        // more; measured on the conformance suite it saves about 3% of the E iterations
        // (the E-optima are often degenerate, where the aggressive k = 3 loses step length).
        let sigma_c = (mu_aff / mu).clamp(0.0, 1.0).powi(2);

        // Corrector: rhs_s = −λ∘λ − Δs̃_aff∘Δz̃_aff + σμe.
        let eta = 1.0 - sigma_c;
        let lb_term = DVector::from_fn(n, |a, _| {
            (-x.s_lb[a] * x.z_lb[a] - aff.s_lb[a] * aff.z_lb[a] + sigma_c * mu) / x.z_lb[a]
        });
        let b_term = if self.cap.is_some() {
            (-x.s_b * x.z_b - aff.s_b * aff.z_b + sigma_c * mu) / x.z_b
        } else {
            0.0
        };
        let r_lambda: Vec<DMatrix<f64>> = x
            .blocks
            .iter()
            .enumerate()
            .map(|(g, b)| {
                let prod = mul(&aff.s[g], &aff.z[g]);
                let mut m = (&prod + prod.transpose()) * -0.5;
                for i in 0..d {
                    m[(i, i)] += sigma_c * mu - b.lambda[i] * b.lambda[i];
                }
                DMatrix::from_fn(d, d, |i, j| 2.0 * m[(i, j)] / (b.lambda[i] + b.lambda[j]))
            })
            .collect();
        let bz = ConeVec {
            lb: &res.r_lb * -eta - lb_term,
            b: -eta * res.r_b - b_term,
            sdp: res
                .r_sdp
                .iter()
                .zip(&r_lambda)
                .map(|(r, rl)| r * -eta - rl)
                .collect(),
        };
        let dir = sys.direction(
            &res.rhs_x(eta),
            -eta * res.r_y,
            &bz,
            &res.r_lb * -eta,
            -eta * res.r_b,
            &r_lambda,
        );
        let alpha = (STEP_FRACTION * self.max_step(&dir)).min(1.0);
        if !alpha.is_finite() {
            return None;
        }
        self.apply(&dir, alpha)?;
        Some(alpha)
    }

    /// Largest α with the orthant and the scaled LMI blocks nonnegative (at most
    /// 1/STEP_FRACTION when the orthant allows more).
    fn max_step(&self, dir: &Direction) -> f64 {
        let x = &self.x;
        let mut alpha = f64::INFINITY;
        let mut limit = |v: f64, dv: f64| {
            if dv < 0.0 {
                alpha = alpha.min(-v / dv);
            }
        };
        for a in 0..self.n {
            limit(x.s_lb[a], dir.s_lb[a]);
            limit(x.z_lb[a], dir.z_lb[a]);
        }
        if self.cap.is_some() {
            limit(x.s_b, dir.s_b);
            limit(x.z_b, dir.z_b);
        }
        // Steps are capped at 1 (after the fraction to the boundary), so the blocks only need
        // to be examined up to 1/STEP_FRACTION.
        let cap = alpha.min(1.0 / STEP_FRACTION);
        let mut alpha_sdp = cap;
        for (g, b) in x.blocks.iter().enumerate() {
            alpha_sdp = b.max_step(&dir.s[g], alpha_sdp);
            alpha_sdp = b.max_step(&dir.z[g], alpha_sdp);
        }
        alpha.min(alpha_sdp)
    }

    fn gap_after(&self, dir: &Direction, alpha: f64) -> f64 {
        let x = &self.x;
        let mut g = (&x.s_lb + &dir.s_lb * alpha).dot(&(&x.z_lb + &dir.z_lb * alpha));
        if self.cap.is_some() {
            g += (x.s_b + alpha * dir.s_b) * (x.z_b + alpha * dir.z_b);
        }
        for (gi, b) in x.blocks.iter().enumerate() {
            let lam = DMatrix::from_diagonal(&b.lambda);
            g += (&lam + &dir.s[gi] * alpha).dot(&(&lam + &dir.z[gi] * alpha));
        }
        g
    }

    fn apply(&mut self, dir: &Direction, alpha: f64) -> Option<()> {
        let has_cap = self.cap.is_some();
        let x = &mut self.x;
        x.sigma.axpy(alpha, &dir.sigma, 1.0);
        x.tau += alpha * dir.tau;
        x.y += alpha * dir.y;
        x.s_lb.axpy(alpha, &dir.s_lb, 1.0);
        x.z_lb.axpy(alpha, &dir.z_lb, 1.0);
        if has_cap {
            x.s_b += alpha * dir.s_b;
            x.z_b += alpha * dir.z_b;
        }
        for (g, b) in x.blocks.iter_mut().enumerate() {
            b.update(&dir.s[g], &dir.z[g], alpha)?;
        }
        Some(())
    }
}

/// The factored Newton system of one iteration, in one of two equivalent forms.
enum Newton {
    Primal(Kkt),
    Dual(Box<DualKkt>),
}

impl Newton {
    fn refinement(&self) -> usize {
        match self {
            Newton::Primal(k) => k.refinement,
            Newton::Dual(k) => k.refinement,
        }
    }
}

struct System<'s, 'a> {
    ipm: &'s Ipm<'a>,
    frames: &'s [Frame],
    newton: &'s Newton,
    d_lb: &'s DVector<f64>,
    d_b: f64,
    /// Iterative-refinement steps per solve.
    refinement: usize,
}

impl System<'_, '_> {
    /// Full direction for right-hand sides (bx, by, bz); `rz_lb`, `rz_b` are the orthant
    /// rows' right-hand sides before the complementarity term was folded into `bz`, and
    /// `r_lambda` the scaled LMI complementarity term (Δs̃ = r_λ − Δz̃).
    fn direction(
        &self,
        bx: &DVector<f64>,
        by: f64,
        bz: &ConeVec,
        rz_lb: DVector<f64>,
        rz_b: f64,
        r_lambda: &[DMatrix<f64>],
    ) -> Direction {
        let ipm = self.ipm;
        let n = ipm.n;
        let (mut dx, mut dy, mut dz) = self.core(bx, by, bz);
        // Iterative refinement against the rounding (and any regularization) of the solve.
        for _ in 0..self.refinement {
            let (e1, e2, e3) = self.residual(bx, by, bz, &dx, dy, &dz);
            let (cx, cy, cz) = self.core(&e1, e2, &e3);
            dx += cx;
            dy += cy;
            dz.lb += cz.lb;
            dz.b += cz.b;
            for (a, b) in dz.sdp.iter_mut().zip(cz.sdp) {
                *a += b;
            }
        }
        let dsigma = dx.rows(0, n).into_owned();
        let c_dsigma = ipm.costs.dot(&dsigma);
        let ds_lb = rz_lb + &dsigma;
        let has_cap = ipm.cap.is_some();
        let ds_b = if has_cap { rz_b - c_dsigma } else { 0.0 };
        let ds: Vec<DMatrix<f64>> = r_lambda.iter().zip(&dz.sdp).map(|(rl, z)| rl - z).collect();
        Direction {
            sigma: dsigma,
            tau: dx[n],
            y: dy,
            s_lb: ds_lb,
            z_lb: dz.lb,
            s_b: ds_b,
            z_b: if has_cap { dz.b } else { 0.0 },
            s: ds,
            z: dz.sdp,
        }
    }

    /// One solve of the reduced system: (Δx, Δy) and Δz.
    fn core(&self, bx: &DVector<f64>, by: f64, bz: &ConeVec) -> (DVector<f64>, f64, ConeVec) {
        let ipm = self.ipm;
        let n = ipm.n;
        // Lower-bound rows folded into the σ right-hand side: r_σ = bx_σ − D_lb bz_lb.
        let mut rhs1 = bx.clone();
        for a in 0..n {
            rhs1[a] -= self.d_lb[a] * bz.lb[a];
        }
        let (dx, dy, dzt, dz_b) = match self.newton {
            Newton::Primal(kkt) => {
                // Fold the cost-cap row (c d_b bz_b) and the LMI rows
                // (Gᵀ(WᵀW)⁻¹bz = (−⟨U_aU_aᵀ, b̃z⟩, ⟨P, b̃z⟩)) too.
                for a in 0..n {
                    rhs1[a] += ipm.costs[a] * self.d_b * bz.b;
                }
                for (fr, bzt) in self.frames.iter().zip(&bz.sdp) {
                    let sv = svec(bzt);
                    rhs1.rows_mut(0, n).gemv_tr(-1.0, &fr.phi, &sv, 1.0);
                    rhs1[n] += fr.ptau.dot(&sv);
                }
                let (dx, dy) = kkt.solve(&rhs1, by);
                // Δz̃ = G̃Δx − b̃z with G̃Δx = −Σ Δσ_a U_aU_aᵀ + Δτ P.
                let dsigma = dx.rows(0, n);
                let dzt: Vec<DMatrix<f64>> = self
                    .frames
                    .iter()
                    .zip(&bz.sdp)
                    .map(|(fr, bzt)| {
                        let mut m = fr.image(dsigma, dx[n]);
                        m -= bzt;
                        m
                    })
                    .collect();
                let dz_b = self.d_b * (ipm.costs.dot(&dsigma) - bz.b);
                (dx, dy, dzt, dz_b)
            }
            Newton::Dual(kkt) => {
                let bzs: Vec<DVector<f64>> = bz.sdp.iter().map(svec).collect();
                let r_sigma = rhs1.rows(0, n).into_owned();
                kkt.solve(self.frames, &r_sigma, rhs1[n], by, &bzs, bz.b, self.ipm.d)
            }
        };
        let dsigma = dx.rows(0, n);
        let dz_lb = DVector::from_fn(n, |a, _| self.d_lb[a] * (-dsigma[a] - bz.lb[a]));
        (
            dx,
            dy,
            ConeVec {
                lb: dz_lb,
                b: dz_b,
                sdp: dzt,
            },
        )
    }

    /// Residuals of GᵀΔz + aΔy = bx, aᵀΔx = by, GΔx − WᵀWΔz = bz (LMI rows scaled).
    fn residual(
        &self,
        bx: &DVector<f64>,
        by: f64,
        bz: &ConeVec,
        dx: &DVector<f64>,
        dy: f64,
        dz: &ConeVec,
    ) -> (DVector<f64>, f64, ConeVec) {
        let ipm = self.ipm;
        let n = ipm.n;
        let x = &ipm.x;
        let dsigma = dx.rows(0, n);
        let dtau = dx[n];
        let has_cap = ipm.cap.is_some();
        let mut e1 = bx.clone();
        for a in 0..n {
            let cap_term = if has_cap { ipm.costs[a] * dz.b } else { 0.0 };
            e1[a] -= -dz.lb[a] + cap_term + dy;
        }
        let mut sdp = Vec::with_capacity(self.frames.len());
        for (fr, (dzt, bzt)) in self.frames.iter().zip(dz.sdp.iter().zip(&bz.sdp)) {
            let sv = svec(dzt);
            e1.rows_mut(0, n).gemv_tr(1.0, &fr.phi, &sv, 1.0);
            e1[n] -= fr.ptau.dot(&sv);
            // b̃z − G̃Δx + Δz̃.
            let mut m = fr.image(dsigma, dtau);
            m.neg_mut();
            m += bzt;
            m += dzt;
            sdp.push(m);
        }
        let e2 = by - dsigma.sum();
        let lb = DVector::from_fn(n, |a, _| {
            bz.lb[a] + dsigma[a] + x.s_lb[a] / x.z_lb[a] * dz.lb[a]
        });
        let b = if has_cap {
            bz.b - ipm.costs.dot(&dsigma) + x.s_b / x.z_b * dz.b
        } else {
            0.0
        };
        (e1, e2, ConeVec { lb, b, sdp })
    }
}

fn symmetrize(m: &mut DMatrix<f64>) {
    let n = m.nrows();
    for j in 0..n {
        for i in 0..j {
            let v = 0.5 * (m[(i, j)] + m[(j, i)]);
            m[(i, j)] = v;
            m[(j, i)] = v;
        }
    }
}

/// The reduced KKT system [[H, a], [aᵀ, 0]] with a = (1, …, 1, 0) (the row of Σσ = 1).
struct Kkt {
    h: SpdFactor,
    /// H⁻¹ a and aᵀ H⁻¹ a.
    ha: DVector<f64>,
    aha: f64,
    n: usize,
    /// Refinement steps: more when the Schur matrix had to be shifted.
    refinement: usize,
}

impl Kkt {
    fn new(h: DMatrix<f64>, n: usize) -> Option<Kkt> {
        let (h, shift) = SpdFactor::new_regularized(h)?;
        let a = DVector::from_fn(n + 1, |i, _| if i < n { 1.0 } else { 0.0 });
        let ha = h.solve(&a);
        let aha = ha.rows(0, n).sum();
        if !(aha > 0.0 && aha.is_finite()) {
            return None;
        }
        Some(Kkt {
            h,
            ha,
            aha,
            n,
            refinement: if shift > 0.0 {
                REFINEMENT_STEPS_SHIFTED
            } else {
                REFINEMENT_STEPS
            },
        })
    }

    /// Solve H dx + a dy = r, aᵀ dx = by.
    fn solve(&self, r: &DVector<f64>, by: f64) -> (DVector<f64>, f64) {
        let mut dx = self.h.solve(r);
        let dy = (dx.rows(0, self.n).sum() - by) / self.aha;
        dx.axpy(-dy, &self.ha, 1.0);
        (dx, dy)
    }
}

/// The Newton system eliminated the other way: with B = [Φ; −cᵀ] (the scaled LMI rows and
/// the cost-cap row) and w = (Δz̃, Δz_b), Δσ = D⁻¹(r_σ + Bᵀw − 1Δy) with D = diag(z_lb/s_lb),
/// which leaves M w = gΔy + ψΔτ − h with M = E + B D⁻¹ Bᵀ (E = diag(I, s_b/z_b)) of size
/// G·d(d+1)/2 + 1 and a 2×2 system for the free variables (Δy, Δτ) — the elimination
/// interior-point LP codes use for their normal equations. Cheap when there are many more
/// arms than matrix dimensions, but it subtracts large numbers once few arms carry the
/// mixture, so it is only used early in a run (see [`Ipm::newton`]).
struct DualKkt {
    m: SpdFactor,
    /// B (rows: stacked Φ over groups, then −cᵀ when there is a cost cap) and ψ = (svec P, 0).
    b: DMatrix<f64>,
    psi: DVector<f64>,
    dinv: DVector<f64>,
    /// D⁻¹1, M⁻¹g, M⁻¹ψ with g = B D⁻¹ 1, and the 2×2 system.
    dinv_one: DVector<f64>,
    minv_g: DVector<f64>,
    minv_psi: DVector<f64>,
    g: DVector<f64>,
    t: [[f64; 2]; 2],
    has_cap: bool,
    refinement: usize,
}

impl DualKkt {
    fn new(
        frames: &[Frame],
        d_lb: &DVector<f64>,
        d_b: f64,
        costs: &DVector<f64>,
    ) -> Option<DualKkt> {
        let n = d_lb.len();
        let p_len = frames.first().map_or(0, |f| f.phi.nrows());
        let has_cap = d_b > 0.0;
        let rows = p_len * frames.len() + usize::from(has_cap);
        let mut b = DMatrix::zeros(rows, n);
        let mut psi = DVector::zeros(rows);
        for (g, fr) in frames.iter().enumerate() {
            b.view_mut((g * p_len, 0), (p_len, n)).copy_from(&fr.phi);
            psi.rows_mut(g * p_len, p_len).copy_from(&fr.ptau);
        }
        if has_cap {
            b.row_mut(rows - 1).copy_from(&(costs.transpose() * -1.0));
        }
        let dinv = d_lb.map(|x| 1.0 / x);
        let mut scaled = b.clone();
        for a in 0..n {
            scaled.column_mut(a).scale_mut(dinv[a].sqrt());
        }
        let st = scaled.transpose();
        let mut m = &scaled * st;
        for i in 0..rows {
            m[(i, i)] += if has_cap && i == rows - 1 {
                1.0 / d_b
            } else {
                1.0
            };
        }
        let (m, shift) = SpdFactor::new_regularized(m)?;
        let dinv_one = dinv.clone();
        let g = &b * &dinv_one;
        let minv_g = m.solve(&g);
        let minv_psi = m.solve(&psi);
        let t = [
            [g.dot(&minv_g) - dinv_one.sum(), g.dot(&minv_psi)],
            [psi.dot(&minv_g), psi.dot(&minv_psi)],
        ];
        let det = t[0][0] * t[1][1] - t[0][1] * t[1][0];
        if !(det.is_finite() && det != 0.0) {
            return None;
        }
        Some(DualKkt {
            m,
            b,
            psi,
            dinv,
            dinv_one,
            minv_g,
            minv_psi,
            g,
            t,
            has_cap,
            refinement: if shift > 0.0 {
                REFINEMENT_STEPS_SHIFTED
            } else {
                REFINEMENT_STEPS
            },
        })
    }

    /// Solve for (Δx = (Δσ, Δτ), Δy, Δz̃ per group, Δz_b) given the σ right-hand side with the
    /// lower-bound rows folded in (r_σ = bx_σ − D bz_lb), the τ right-hand side, by, the scaled
    /// LMI right-hand sides and the cost-cap row's right-hand side.
    #[allow(clippy::too_many_arguments)]
    fn solve(
        &self,
        frames: &[Frame],
        r_sigma: &DVector<f64>,
        r_tau: f64,
        by: f64,
        bz: &[DVector<f64>],
        bz_b: f64,
        d: usize,
    ) -> (DVector<f64>, f64, Vec<DMatrix<f64>>, f64) {
        let n = r_sigma.len();
        let p_len = frames.first().map_or(0, |f| f.phi.nrows());
        let rows = self.psi.len();
        let mut bhat = DVector::zeros(rows);
        for (g, v) in bz.iter().enumerate() {
            bhat.rows_mut(g * p_len, p_len).copy_from(v);
        }
        if self.has_cap {
            // Row −cᵀ: −cᵀΔσ = −Δz_b d_b⁻¹ − bz_b.
            bhat[rows - 1] = bz_b;
        }
        let kr = self.dinv.component_mul(r_sigma);
        let h = bhat + &self.b * &kr;
        let mh = self.m.solve(&h);
        let ry = by - kr.sum() + self.g.dot(&mh);
        let rt = r_tau + self.psi.dot(&mh);
        let det = self.t[0][0] * self.t[1][1] - self.t[0][1] * self.t[1][0];
        let dy = (ry * self.t[1][1] - self.t[0][1] * rt) / det;
        let dtau = (self.t[0][0] * rt - self.t[1][0] * ry) / det;
        let w = &self.minv_g * dy + &self.minv_psi * dtau - mh;
        let mut dsigma = kr + self.dinv.component_mul(&self.b.tr_mul(&w));
        dsigma.axpy(-dy, &self.dinv_one, 1.0);
        let mut dx = DVector::zeros(n + 1);
        dx.rows_mut(0, n).copy_from(&dsigma);
        dx[n] = dtau;
        let dzt = (0..frames.len())
            .map(|g| smat(w.rows(g * p_len, p_len).as_slice(), d))
            .collect();
        let dz_b = if self.has_cap { w[rows - 1] } else { 0.0 };
        (dx, dy, dzt, dz_b)
    }
}
