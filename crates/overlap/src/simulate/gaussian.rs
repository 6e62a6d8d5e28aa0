//! Exact quantities of Gaussian comparison distributions: the Fisher information of an arm and the
//! sign-error rate of an estimate on the test distribution.
//!
//! Entry points: [`information`], [`sign_error`]. Pure and deterministic.
//!
//! Information. For Δφ ~ N(m, C) (an arm's distribution; its mirror N(−m, C) has the same
//! information because g is even), E[g(wᵀx) xxᵀ] reduces to three one-dimensional integrals: with
//! u = wᵀx ~ N(μ, σ²), k = Cw/σ² and t = u − μ, x = m + k·t + r where r is independent of u with
//! covariance C − σ²kkᵀ, so
//! E[g xxᵀ] = G₀·(C − σ²kkᵀ + mmᵀ) + G₁·(mkᵀ + kmᵀ) + G₂·kkᵀ with G_j = E[g(μ + t)·t^j].
//! The G_j are integrated over z = t/σ ∈ [−12, 12] by composite Simpson with a step fine enough
//! for g's width 1/σ in z (the integrand is analytic, so the error is far below 1e-10).

use nalgebra::DMatrix;

use crate::numerics::btl::curvature;

/// Half-width of the integration range in standard deviations (φ(12) ≈ 2e-32).
const Z_RANGE: f64 = 12.0;

/// Simpson intervals per unit of z at σ ≤ 1: the integrand varies on a scale of 1, so 200
/// intervals per unit leave an error of order h⁴ ≈ 6e-10 relative; at larger σ the step shrinks
/// like 1/σ because g(μ + σz) varies on a scale of 1/σ.
const STEPS_PER_UNIT: f64 = 200.0;

/// E[g(wᵀx) xxᵀ] for x ~ N(mean, cov) (see the module docs).
pub fn information(mean: &[f64], cov: &DMatrix<f64>, w: &[f64]) -> DMatrix<f64> {
    let d = mean.len();
    let cw: Vec<f64> = (0..d)
        .map(|i| (0..d).map(|j| cov[(i, j)] * w[j]).sum())
        .collect();
    let mu: f64 = w.iter().zip(mean).map(|(a, b)| a * b).sum();
    let var: f64 = w.iter().zip(&cw).map(|(a, b)| a * b).sum();
    let m = DMatrix::from_column_slice(d, 1, mean);
    let mmt = &m * m.transpose();
    if var <= 0.0 {
        return (cov + mmt) * curvature(mu);
    }
    let sigma = var.sqrt();
    let (g0, g1, g2) = moments(mu, sigma);
    let k = DMatrix::from_iterator(d, 1, cw.iter().map(|v| v / var));
    let kkt = &k * k.transpose();
    let mk = &m * k.transpose();
    let out = (cov - &kkt * var + mmt) * g0 + (&mk + mk.transpose()) * g1 + kkt * g2;
    (&out + out.transpose()) * 0.5
}

/// (E[g(μ+t)], E[g(μ+t)·t], E[g(μ+t)·t²]) for t ~ N(0, σ²).
fn moments(mu: f64, sigma: f64) -> (f64, f64, f64) {
    let per_unit = STEPS_PER_UNIT * sigma.max(1.0);
    let mut n = (2.0 * Z_RANGE * per_unit).ceil() as usize;
    n += n % 2;
    let h = 2.0 * Z_RANGE / n as f64;
    let norm = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
    let (mut s0, mut s1, mut s2) = (0.0, 0.0, 0.0);
    for i in 0..=n {
        let z = -Z_RANGE + i as f64 * h;
        let weight = if i == 0 || i == n {
            1.0
        } else if i % 2 == 1 {
            4.0
        } else {
            2.0
        };
        let t = sigma * z;
        let f = weight * norm * (-0.5 * z * z).exp() * curvature(mu + t);
        s0 += f;
        s1 += f * t;
        s2 += f * t * t;
    }
    let c = h / 3.0;
    (s0 * c, s1 * c, s2 * c)
}

/// P[sign(ŵᵀx) ≠ sign(w*ᵀx)] for x ~ N(0, cov): the angle between C^{1/2}ŵ and C^{1/2}w*
/// divided by π. An estimate with ŵᵀCŵ = 0 ranks nothing: 1/2.
pub fn sign_error(w_hat: &[f64], w_star: &[f64], cov: &DMatrix<f64>) -> f64 {
    let d = w_hat.len();
    let quad = |a: &[f64], b: &[f64]| -> f64 {
        (0..d)
            .map(|i| (0..d).map(|j| a[i] * cov[(i, j)] * b[j]).sum::<f64>())
            .sum()
    };
    let hh = quad(w_hat, w_hat);
    let ss = quad(w_star, w_star);
    if !(hh > 0.0 && ss > 0.0) {
        return 0.5;
    }
    let cos = (quad(w_hat, w_star) / (hh.sqrt() * ss.sqrt())).clamp(-1.0, 1.0);
    cos.acos() / std::f64::consts::PI
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn information_matches_the_constant_curvature_limit() {
        // w = 0: g ≡ 1/4, so E[g xxᵀ] = (C + mmᵀ)/4.
        let c = DMatrix::from_row_slice(2, 2, &[1.0, 0.5, 0.5, 2.0]);
        let m = [0.3, -0.2];
        let i = information(&m, &c, &[0.0, 0.0]);
        let expect = (&c + DMatrix::from_row_slice(2, 2, &[0.09, -0.06, -0.06, 0.04])) * 0.25;
        assert!((i - expect).abs().max() < 1e-15);
    }

    #[test]
    fn information_matches_monte_carlo() {
        use rand::SeedableRng;
        use rand_distr::{Distribution, StandardNormal};
        let c = DMatrix::from_row_slice(2, 2, &[1.0, 0.9, 0.9, 1.0]);
        let f = crate::simulate::scenario::psd_factor(&c).unwrap();
        let m = [0.2, 0.1];
        let w = [0.7, -1.3];
        let exact = information(&m, &c, &w);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let n = 200_000;
        let mut acc = DMatrix::zeros(2, 2);
        for _ in 0..n {
            let z = DMatrix::from_iterator(2, 1, (0..2).map(|_| StandardNormal.sample(&mut rng)));
            let x = &f * z + DMatrix::from_column_slice(2, 1, &m);
            let u = w[0] * x[0] + w[1] * x[1];
            acc += &x * x.transpose() * curvature(u);
        }
        acc /= n as f64;
        assert!((exact - acc).abs().max() < 3e-3);
    }

    #[test]
    fn sign_error_is_the_angle_over_pi() {
        let c = DMatrix::identity(2, 2);
        assert_eq!(sign_error(&[1.0, 0.0], &[1.0, 0.0], &c), 0.0);
        assert!((sign_error(&[1.0, 0.0], &[0.0, 1.0], &c) - 0.5).abs() < 1e-15);
        assert!((sign_error(&[1.0, 0.0], &[-1.0, 0.0], &c) - 1.0).abs() < 1e-15);
        assert_eq!(sign_error(&[0.0, 0.0], &[1.0, 0.0], &c), 0.5);
    }
}
