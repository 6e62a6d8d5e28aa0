//! A- and D-optimal designs by a primal–dual interior-point method for a smooth objective.
//!
//! Owns the problem, in σ (free mass):
//!
//! ```text
//! minimize f(σ)  s.t.  σ_a ≥ 0,  Σ c_a σ_a ≤ t,  Σ σ_a = 1,
//! f = −log det X(σ) (D)  or  tr X(σ)⁻¹ (A),  X(σ) = C + Σ_a σ_a Ã_a,
//! ```
//!
//! solved by Newton steps on the perturbed KKT conditions (gradient condition, σ∘z = μ,
//! the cost-cap complementarity, Σσ = 1) with a Mehrotra-style centring choice and a
//! backtracking line search on the residual norm — the usual safeguard for a nonlinear
//! objective. The Hessian of f is the same Schur structure the E-method uses
//! (H_ab = tr(X⁻¹Ã_aX⁻¹Ã_b) for D, 2 tr(X⁻¹Ã_aX⁻¹Ã_bX⁻¹) for A), built from the low-rank
//! factors in the eigenbasis of X. Arms whose bound σ_a ≥ 0 is clearly active leave the
//! working set as the method runs, and are priced again at the end; improving ones (every
//! dropped one when none prices as improving but the gap is still missed) are put back for
//! another run, which drops no arms. Entry point: [`solve`].
//! It must not report its own gap: [`super::certify`] recomputes the objective and the
//! Frank–Wolfe gap from π.

use nalgebra::{DMatrix, DVector};

use super::certify;
use super::linalg::{SpdFactor, mul_tr, smat, sorted_eigen, svec, tr_mul};
use super::lowrank::{GroupFactor, Prepared};
use super::polytope::{Polytope, lp_max_costs, repair};
use super::{Criterion, DesignError, DesignProblem, DesignSolution, SolverOptions};

/// Fraction of the distance to the boundary taken by a step.
const STEP_FRACTION: f64 = 0.99;
/// Eigenvalues of X below this fraction of the largest make X singular (solver units).
const SINGULAR_TOL: f64 = 1e-12;
/// An arm leaves the working set when σ_a < SHRINK·√μ and z_a > √μ / SHRINK.
const SHRINK: f64 = 1e-2;
/// Shrinking starts once μ·(n+1) is below this, relative to max(1, |f|).
const SHRINK_GAP: f64 = 1e-3;
/// Armijo fraction of the residual-norm line search, and its halving limit.
const ARMIJO: f64 = 1e-2;
const MAX_HALVINGS: usize = 40;
/// The Woodbury form of the Newton matrix is used only while μ·(n+1) is above this,
/// relative to max(1, |f|).
const WOODBURY_GAP: f64 = 1e-4;

/// Solve an A or D problem and certify the answer.
pub(crate) fn solve(
    prep: &Prepared,
    poly: &Polytope,
    problem: &DesignProblem,
    opts: &SolverOptions,
) -> Result<DesignSolution, DesignError> {
    let criterion = problem.criterion;
    let allowed = poly.allowed_arms();
    // f is finite at some feasible π iff X is nonsingular at an interior one, and then at
    // every interior one (the null space of a PSD sum with positive weights does not
    // depend on the weights).
    let ones: Vec<f64> = (0..poly.arms())
        .map(|a| if poly.allowed[a] { 1.0 } else { 0.0 })
        .collect();
    let total = &prep.base[0] + prep.factors[0].combine(&ones);
    let e = sorted_eigen(&total);
    let top = e.values.last().copied().unwrap_or(0.0).max(0.0);
    if e.values[0] <= SINGULAR_TOL * top.max(f64::MIN_POSITIVE) {
        let rank = e.values.iter().filter(|&&l| l > SINGULAR_TOL * top).count();
        let mut v: Vec<f64> = e.vectors.column(0).iter().copied().collect();
        super::linalg::fix_sign(&mut v);
        return Err(DesignError::Singular {
            criterion,
            rank,
            dim: prep.dim,
            null_direction: v,
        });
    }
    if poly.is_point() {
        let ev = certify::evaluate(problem, poly.point());
        let gap = certify::smooth_gap(prep, poly, criterion, &ev);
        return Ok(certify::finish(problem, ev, gap, 0));
    }

    let mut set = allowed.clone();
    let mut iterations = 0;
    let mut shrinking = true;
    loop {
        let budget = opts.max_iterations.saturating_sub(iterations);
        let mut run = Ipm::new(prep, poly, &set, criterion, opts.tol)?;
        run.shrinking = shrinking;
        let out = run.run(budget);
        iterations += out.iterations;
        let mut full = vec![0.0; poly.arms()];
        for (&a, &s) in out.set.iter().zip(&out.sigma) {
            full[a] = s;
        }
        let ev = certify::evaluate(problem, poly.to_pi(&full));
        let gap = certify::smooth_gap(prep, poly, criterion, &ev);
        let target = opts.tol * ev.objective.abs().max(1.0);
        if gap <= target {
            return Ok(certify::finish(problem, ev, gap, iterations));
        }
        let added = super::arms_to_add(price(prep, poly, &out), shrinking, &out.set, &allowed);
        // Later rounds keep every arm they start with: the shrinking rule misjudged this
        // problem (e.g. a cost cap barely above the cheapest cost keeps every other σ_a tiny
        // without its bound being active), and repeating it could cycle.
        shrinking = false;
        if added.is_empty() || iterations >= opts.max_iterations {
            return Err(DesignError::NotConverged {
                iterations,
                gap,
                target,
            });
        }
        set = out.set.clone();
        set.extend(added);
        set.sort_unstable();
    }
}

/// Allowed arms outside the final working set whose reduced cost at the run's multipliers is
/// negative (adding them would lower f).
fn price(prep: &Prepared, poly: &Polytope, out: &RunOutcome) -> Vec<usize> {
    let mut inside = vec![false; poly.arms()];
    for &a in &out.set {
        inside[a] = true;
    }
    let g = gradient_all(prep, out.criterion, &out.x_eig);
    (0..poly.arms())
        .filter(|&a| poly.allowed[a] && !inside[a])
        .filter(|&a| g[a] + out.cost_dual * poly.costs[a] / out.cost_scale + out.y < 0.0)
        .collect()
}

/// ∇f over all arms at X = E diag(x) Eᵀ (solver units).
fn gradient_all(prep: &Prepared, criterion: Criterion, eig: &(DMatrix<f64>, Vec<f64>)) -> Vec<f64> {
    let y = inverse_power(eig, power(criterion));
    prep.factors[0].inner(&y).into_iter().map(|v| -v).collect()
}

/// X⁻¹ (D) or X⁻² (A): the matrix whose inner products with Ã_a are −∂f/∂σ_a.
fn power(criterion: Criterion) -> i32 {
    if criterion == Criterion::A { 2 } else { 1 }
}

fn inverse_power(eig: &(DMatrix<f64>, Vec<f64>), k: i32) -> DMatrix<f64> {
    let (e, x) = eig;
    let mut scaled = e.clone();
    for (j, &xj) in x.iter().enumerate() {
        scaled.column_mut(j).scale_mut(xj.powi(-k));
    }
    mul_tr(&scaled, e)
}

struct RunOutcome {
    set: Vec<usize>,
    sigma: Vec<f64>,
    criterion: Criterion,
    /// Eigendecomposition of X(σ) at the returned iterate (solver units).
    x_eig: (DMatrix<f64>, Vec<f64>),
    y: f64,
    cost_dual: f64,
    cost_scale: f64,
    iterations: usize,
}

/// f, ∇f and the eigendecomposition of X at one σ.
struct Point {
    f: f64,
    g: DVector<f64>,
    eig: (DMatrix<f64>, Vec<f64>),
}

#[derive(Clone)]
struct Iterate {
    sigma: DVector<f64>,
    z: DVector<f64>,
    s_b: f64,
    z_b: f64,
    y: f64,
}

struct Ipm<'a> {
    base: &'a DMatrix<f64>,
    criterion: Criterion,
    set: Vec<usize>,
    fac: GroupFactor,
    /// svec columns of the scaled arm matrices Ã_a (for X(σ) and ∇f in p·n flops).
    phi: DMatrix<f64>,
    costs: DVector<f64>,
    cost_scale: f64,
    cap: Option<f64>,
    n: usize,
    d: usize,
    tol: f64,
    kappa: f64,
    x: Iterate,
    point: Point,
    /// Whether arms at their bound may leave the working set during the run.
    shrinking: bool,
}

impl<'a> Ipm<'a> {
    fn new(
        prep: &'a Prepared,
        poly: &Polytope,
        set: &[usize],
        criterion: Criterion,
        tol: f64,
    ) -> Result<Ipm<'a>, DesignError> {
        let n = set.len();
        let fac = prep.factors[0].gather(set);
        let phi = fac.svec_columns(&fac.l, None);
        let cost_scale = set
            .iter()
            .map(|&a| poly.costs[a])
            .fold(0.0f64, f64::max)
            .max(f64::MIN_POSITIVE);
        let costs = DVector::from_iterator(n, set.iter().map(|&a| poly.costs[a] / cost_scale));
        let cap = poly.cap.map(|t| t / cost_scale);
        let sigma = DVector::from_vec(poly.interior(set));
        let mut ipm = Ipm {
            base: &prep.base[0],
            criterion,
            set: set.to_vec(),
            fac,
            phi,
            costs,
            cost_scale,
            cap,
            n,
            d: prep.dim,
            tol,
            kappa: prep.kappa,
            x: Iterate {
                sigma: sigma.clone(),
                z: DVector::zeros(n),
                s_b: 1.0,
                z_b: 0.0,
                y: 0.0,
            },
            point: Point {
                f: 0.0,
                g: DVector::zeros(n),
                eig: (DMatrix::zeros(0, 0), Vec::new()),
            },
            shrinking: true,
        };
        ipm.point = ipm.evaluate(&sigma).ok_or(DesignError::Numerical(
            "initial point of the a/d-design method",
        ))?;
        // Dual start: centred at μ₀ ~ |∇f|/n, y making the mean dual residual zero.
        let g = &ipm.point.g;
        let mu0 = (g.amax().max(1.0)) / n as f64;
        let z = sigma.map(|s| mu0 / s);
        let (s_b, z_b) = match ipm.cap {
            Some(t) => {
                let sb = t - ipm.costs.dot(&sigma);
                (sb, mu0 / sb)
            }
            None => (1.0, 0.0),
        };
        let y = -(0..n)
            .map(|a| g[a] - z[a] + ipm.costs[a] * z_b)
            .sum::<f64>()
            / n as f64;
        ipm.x = Iterate {
            sigma,
            z,
            s_b,
            z_b,
            y,
        };
        Ok(ipm)
    }

    /// f, ∇f at σ; `None` when X(σ) is not positive definite.
    fn evaluate(&self, sigma: &DVector<f64>) -> Option<Point> {
        let x = self.base + smat((&self.phi * sigma).as_slice(), self.d);
        let e = sorted_eigen(&x);
        let top = e.values.last().copied().unwrap_or(0.0);
        if !(e.values[0] > SINGULAR_TOL * top && top.is_finite()) {
            return None;
        }
        let f = match self.criterion {
            Criterion::A => e.values.iter().map(|l| 1.0 / l).sum(),
            _ => -e.values.iter().map(|l| l.ln()).sum::<f64>(),
        };
        let eig = (e.vectors, e.values);
        let y = inverse_power(&eig, power(self.criterion));
        let g = -self.phi.tr_mul(&svec(&y));
        Some(Point { f, g, eig })
    }

    /// ∇²f at the current point, from U = Eᵀ L in the eigenbasis of X.
    fn hessian(&self) -> DMatrix<f64> {
        let (e, x) = &self.point.eig;
        let mut u = tr_mul(e, &self.fac.l);
        let mut h = DMatrix::zeros(self.n, self.n);
        match self.criterion {
            Criterion::A => self.fac.add_schur_a(&u, x, &mut h),
            _ => {
                for (i, &xi) in x.iter().enumerate() {
                    u.row_mut(i).scale_mut(1.0 / xi.sqrt());
                }
                self.fac.add_schur_scaled(&u, None, &mut h);
            }
        }
        h
    }

    /// Factor K = ∇²f + diag(z/σ) + d_b ccᵀ, densely, or — while the method is far from
    /// the optimum and there are many more arms than matrix dimensions — in the low-rank
    /// form K = D + BᵀB (B = [Φ̃; √d_b cᵀ], Φ̃ the svec columns whose Gram matrix is ∇²f),
    /// inverted by Woodbury through a (p+1)-dimensional system. Woodbury subtracts large
    /// numbers once D spans many orders of magnitude, so it is used only early; by then
    /// shrinking has made the dense form cheap.
    fn newton_matrix(&self, diag: &DVector<f64>, d_b: f64, mu: f64) -> Option<NewtonMatrix> {
        let n = self.n as f64;
        let d = self.d as f64;
        let p = d * (d + 1.0) / 2.0;
        let early = mu * self.degree() > WOODBURY_GAP * self.point.f.abs().max(1.0);
        if early && n * p * p + p * p * p / 3.0 < n * n * p.min(d * n) + n * n * n / 3.0 {
            let (e, x) = &self.point.eig;
            let mut u = tr_mul(e, &self.fac.l);
            let phi = match self.criterion {
                Criterion::A => self.fac.svec_columns(&u, Some(x)),
                _ => {
                    for (i, &xi) in x.iter().enumerate() {
                        u.row_mut(i).scale_mut(1.0 / xi.sqrt());
                    }
                    self.fac.svec_columns(&u, None)
                }
            };
            return Woodbury::new(phi, diag, d_b, &self.costs).map(NewtonMatrix::Woodbury);
        }
        let mut h = self.hessian();
        for a in 0..self.n {
            h[(a, a)] += diag[a];
        }
        if d_b > 0.0 {
            h.ger(d_b, &self.costs, &self.costs, 1.0);
        }
        SpdFactor::new_regularized(h).map(|(f, _)| NewtonMatrix::Dense(f))
    }

    fn degree(&self) -> f64 {
        (self.n + usize::from(self.cap.is_some())) as f64
    }

    fn complementarity(&self, x: &Iterate) -> f64 {
        let mut c = x.sigma.dot(&x.z);
        if self.cap.is_some() {
            c += x.s_b * x.z_b;
        }
        c
    }

    /// Gap target in solver units: tol·max(1, |objective|) in input units. For A the solver
    /// objective is the input one divided by κ; for D they differ by the constant d·log κ.
    fn target(&self) -> f64 {
        match self.criterion {
            Criterion::A => self.tol * (1.0 / self.kappa).max(self.point.f.abs()),
            _ => {
                let input = -self.point.f - self.d as f64 * self.kappa.ln();
                self.tol * input.abs().max(1.0)
            }
        }
    }

    /// Frank–Wolfe gap on the working set at the current σ made exactly feasible (the
    /// iterate itself may miss Σσ = 1 by the mass of recently dropped arms): gᵀσ − min over
    /// the restricted polytope of gᵀσ', with g = ∇f at that same σ.
    fn fw_gap(&self) -> f64 {
        let mut sigma: Vec<f64> = self.x.sigma.iter().copied().collect();
        if !repair(&mut sigma, self.costs.as_slice(), self.cap) {
            return f64::INFINITY;
        }
        let sigma = DVector::from_vec(sigma);
        let Some(point) = self.evaluate(&sigma) else {
            return f64::INFINITY;
        };
        let neg: Vec<f64> = point.g.iter().map(|v| -v).collect();
        point.g.dot(&sigma) + lp_max_costs(self.costs.as_slice(), &neg, self.cap)
    }

    /// Residual of the perturbed KKT system at `x` with f-gradient `g`, target μ_t.
    fn residual_norm(&self, x: &Iterate, g: &DVector<f64>, mu_t: f64) -> f64 {
        let mut r2 = 0.0;
        for a in 0..self.n {
            let rd = g[a] - x.z[a] + self.costs[a] * x.z_b + x.y;
            let rc = x.sigma[a] * x.z[a] - mu_t;
            r2 += rd * rd + rc * rc;
        }
        if self.cap.is_some() {
            let rc = x.s_b * x.z_b - mu_t;
            let rb = match self.cap {
                Some(t) => self.costs.dot(&x.sigma) + x.s_b - t,
                None => 0.0,
            };
            r2 += rc * rc + rb * rb;
        }
        let rp = x.sigma.sum() - 1.0;
        (r2 + rp * rp).sqrt()
    }

    fn snapshot(&self, iterations: usize) -> RunOutcome {
        RunOutcome {
            set: self.set.clone(),
            sigma: self.x.sigma.iter().copied().collect(),
            criterion: self.criterion,
            x_eig: self.point.eig.clone(),
            y: self.x.y,
            cost_dual: if self.cap.is_some() { self.x.z_b } else { 0.0 },
            cost_scale: self.cost_scale,
            iterations,
        }
    }

    /// Iterate until the Frank–Wolfe gap on the working set meets the target, the method
    /// stalls, or the budget is spent; returns the iterate with the best gap seen.
    fn run(&mut self, max_iterations: usize) -> RunOutcome {
        let mut iterations = 0;
        let mut best: Option<(f64, RunOutcome)> = None;
        loop {
            let mu = self.complementarity(&self.x) / self.degree();
            let target = self.target();
            if mu * self.degree() <= 10.0 * target {
                let gap = self.fw_gap();
                if gap <= target {
                    return self.snapshot(iterations);
                }
                if best.as_ref().is_none_or(|(b, _)| gap < *b) {
                    best = Some((gap, self.snapshot(iterations)));
                }
                if mu * self.degree() <= 1e-6 * target {
                    break;
                }
            }
            if iterations >= max_iterations {
                break;
            }
            match self.iterate(mu) {
                Some(alpha) if alpha > 1e-12 => {}
                _ => break,
            }
            iterations += 1;
            self.shrink(mu);
        }
        match best {
            Some((_, mut out)) => {
                out.iterations = iterations;
                out
            }
            None => self.snapshot(iterations),
        }
    }

    /// One Newton step with Mehrotra centring and a residual-norm line search; returns the
    /// step length, `None` when the Newton system cannot be factored.
    fn iterate(&mut self, mu: f64) -> Option<f64> {
        let n = self.n;
        let x = self.x.clone();
        let g = self.point.g.clone();
        let d_b = if self.cap.is_some() {
            x.z_b / x.s_b
        } else {
            0.0
        };
        let diag = x.z.component_div(&x.sigma);
        let fact = self.newton_matrix(&diag, d_b, mu)?;
        let ones = DVector::from_element(n, 1.0);
        let h1 = fact.solve(&ones);
        let one_h_one = h1.sum();
        if !(one_h_one > 0.0 && one_h_one.is_finite()) {
            return None;
        }
        let r_d = DVector::from_fn(n, |a, _| g[a] - x.z[a] + self.costs[a] * x.z_b + x.y);
        let r_p = x.sigma.sum() - 1.0;
        // Direction for complementarity targets rc (σ∘z side) and rb (cost cap side):
        // Δz = (rc − zΔσ)/σ, Δz_b = (rb + z_b cᵀΔσ)/s_b, Δs_b = −cᵀΔσ.
        let solve = |rc: &DVector<f64>, rb: f64| -> Direction {
            let mut rhs = -&r_d;
            for a in 0..n {
                rhs[a] += rc[a] / x.sigma[a];
            }
            if d_b > 0.0 {
                rhs.axpy(-rb / x.s_b, &self.costs, 1.0);
            }
            let p = fact.solve(&rhs);
            let dy = (p.sum() + r_p) / one_h_one;
            let dsigma = p - &h1 * dy;
            let dz = DVector::from_fn(n, |a, _| (rc[a] - x.z[a] * dsigma[a]) / x.sigma[a]);
            let c_ds = self.costs.dot(&dsigma);
            let (ds_b, dz_b) = if d_b > 0.0 {
                (-c_ds, (rb + x.z_b * c_ds) / x.s_b)
            } else {
                (0.0, 0.0)
            };
            Direction {
                sigma: dsigma,
                z: dz,
                s_b: ds_b,
                z_b: dz_b,
                y: dy,
            }
        };
        // Predictor: complementarity driven to zero.
        let rc_aff = -x.sigma.component_mul(&x.z);
        let rb_aff = -x.s_b * x.z_b;
        let aff = solve(&rc_aff, rb_aff);
        let alpha_aff = self.max_step(&x, &aff).min(1.0);
        let mut mu_aff = (&x.sigma + &aff.sigma * alpha_aff).dot(&(&x.z + &aff.z * alpha_aff));
        if self.cap.is_some() {
            mu_aff += (x.s_b + alpha_aff * aff.s_b) * (x.z_b + alpha_aff * aff.z_b);
        }
        mu_aff /= self.degree();
        let sigma_c = (mu_aff / mu).clamp(0.0, 1.0).powi(3);
        let mu_t = sigma_c * mu;
        // Corrector with the second-order term.
        let rc = DVector::from_fn(n, |a, _| {
            -x.sigma[a] * x.z[a] - aff.sigma[a] * aff.z[a] + mu_t
        });
        let rb = -x.s_b * x.z_b - aff.s_b * aff.z_b + mu_t;
        let dir = solve(&rc, rb);
        let mut alpha = (STEP_FRACTION * self.max_step(&x, &dir)).min(1.0);
        // Line search on the residual of the perturbed KKT system (f is nonlinear).
        let r0 = self.residual_norm(&x, &g, mu_t);
        for _ in 0..MAX_HALVINGS {
            let trial = Iterate {
                sigma: &x.sigma + &dir.sigma * alpha,
                z: &x.z + &dir.z * alpha,
                s_b: x.s_b + alpha * dir.s_b,
                z_b: x.z_b + alpha * dir.z_b,
                y: x.y + alpha * dir.y,
            };
            if let Some(point) = self.evaluate(&trial.sigma)
                && self.residual_norm(&trial, &point.g, mu_t) <= (1.0 - ARMIJO * alpha) * r0
            {
                self.x = trial;
                self.point = point;
                return Some(alpha);
            }
            alpha *= 0.5;
        }
        None
    }

    fn max_step(&self, x: &Iterate, dir: &Direction) -> f64 {
        let mut alpha = f64::INFINITY;
        let mut limit = |v: f64, dv: f64| {
            if dv < 0.0 {
                alpha = alpha.min(-v / dv);
            }
        };
        for a in 0..self.n {
            limit(x.sigma[a], dir.sigma[a]);
            limit(x.z[a], dir.z[a]);
        }
        if self.cap.is_some() {
            limit(x.s_b, dir.s_b);
            limit(x.z_b, dir.z_b);
        }
        alpha
    }

    /// Drop arms whose lower bound is clearly active (see [`SHRINK`]).
    fn shrink(&mut self, mu_before: f64) {
        let mu = self.complementarity(&self.x) / self.degree();
        if !self.shrinking
            || mu * self.degree() > SHRINK_GAP * self.point.f.abs().max(1.0)
            || mu > mu_before
        {
            return;
        }
        let root = mu.sqrt();
        let x = &self.x;
        let keep: Vec<usize> = (0..self.n)
            .filter(|&a| !(x.sigma[a] < SHRINK * root && x.z[a] > root / SHRINK))
            .collect();
        if keep.len() == self.n || keep.is_empty() {
            return;
        }
        let pick =
            |v: &DVector<f64>| DVector::from_iterator(keep.len(), keep.iter().map(|&a| v[a]));
        let sigma = pick(&x.sigma);
        let z = pick(&x.z);
        let costs = pick(&self.costs);
        let fac = self.fac.gather(&keep);
        let phi = fac.svec_columns(&fac.l, None);
        let set: Vec<usize> = keep.iter().map(|&a| self.set[a]).collect();
        let previous = (
            std::mem::replace(&mut self.fac, fac),
            std::mem::replace(&mut self.phi, phi),
            std::mem::replace(&mut self.costs, costs),
            std::mem::replace(&mut self.set, set),
            self.n,
        );
        self.n = keep.len();
        match self.evaluate(&sigma) {
            Some(point) => {
                // The cost-cap slack is kept equal to t − cᵀσ (the Newton system assumes it);
                // the dropped mass only lowers the cost, so the slack stays positive.
                if let Some(t) = self.cap {
                    self.x.s_b = t - self.costs.dot(&sigma);
                }
                self.x.sigma = sigma;
                self.x.z = z;
                self.point = point;
            }
            None => {
                // Dropping made X singular: the arms were needed after all.
                (self.fac, self.phi, self.costs, self.set, self.n) = previous;
            }
        }
    }
}

/// A factored Newton matrix K (see [`Ipm::newton_matrix`]).
enum NewtonMatrix {
    Dense(SpdFactor),
    Woodbury(Woodbury),
}

impl NewtonMatrix {
    fn solve(&self, v: &DVector<f64>) -> DVector<f64> {
        match self {
            NewtonMatrix::Dense(f) => f.solve(v),
            NewtonMatrix::Woodbury(w) => w.solve(v),
        }
    }
}

/// (D + BᵀB)⁻¹ v = D⁻¹v − D⁻¹Bᵀ (I + B D⁻¹ Bᵀ)⁻¹ B D⁻¹ v.
struct Woodbury {
    b: DMatrix<f64>,
    dinv: DVector<f64>,
    m: SpdFactor,
}

impl Woodbury {
    fn new(
        phi: DMatrix<f64>,
        diag: &DVector<f64>,
        d_b: f64,
        costs: &DVector<f64>,
    ) -> Option<Woodbury> {
        let (p, n) = phi.shape();
        let rows = p + usize::from(d_b > 0.0);
        let mut b = DMatrix::zeros(rows, n);
        b.view_mut((0, 0), (p, n)).copy_from(&phi);
        if d_b > 0.0 {
            b.row_mut(p).copy_from(&(costs.transpose() * d_b.sqrt()));
        }
        let dinv = diag.map(|v| 1.0 / v);
        let mut scaled = b.clone();
        for a in 0..n {
            scaled.column_mut(a).scale_mut(dinv[a].sqrt());
        }
        let st = scaled.transpose();
        let mut m = &scaled * st;
        for i in 0..rows {
            m[(i, i)] += 1.0;
        }
        let (m, _) = SpdFactor::new_regularized(m)?;
        Some(Woodbury { b, dinv, m })
    }

    fn solve(&self, v: &DVector<f64>) -> DVector<f64> {
        let dv = self.dinv.component_mul(v);
        let w = self.m.solve(&(&self.b * &dv));
        dv - self.dinv.component_mul(&self.b.tr_mul(&w))
    }
}

struct Direction {
    sigma: DVector<f64>,
    z: DVector<f64>,
    s_b: f64,
    z_b: f64,
    y: f64,
}
