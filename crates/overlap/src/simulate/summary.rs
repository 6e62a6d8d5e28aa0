//! Aggregation over replicates and the labels needed to reach a target MSE.
//!
//! Owns [`Stat`] (mean and sample standard deviation) and [`labels_to_target`]: the first
//! crossing of the target on an MSE curve, interpolated on log–log axes between the two
//! checkpoints around it; when the curve never reaches the target, the tail is fitted with
//! MSE ≈ c/N (least squares through the origin in 1/N over the last half of the checkpoints —
//! the asymptotic rate of a regular estimator, MSE·N → tr(I⁻¹)) and extrapolated, and the answer
//! is marked as such. A target already met at the first checkpoint is extrapolated backwards from
//! that point with the same c/N law (also marked).

use serde::Serialize;

/// Mean and sample standard deviation (0 for a single value).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stat {
    pub mean: f64,
    pub sd: f64,
}

impl Stat {
    pub fn of(values: impl Iterator<Item = f64>) -> Stat {
        let v: Vec<f64> = values.collect();
        if v.is_empty() {
            return Stat { mean: 0.0, sd: 0.0 };
        }
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let sd = if v.len() > 1 {
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        Stat { mean, sd }
    }
}

/// How a label count was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    Interpolated,
    Extrapolated,
}

/// Labels needed to reach a target MSE.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LabelsToTarget {
    pub labels: f64,
    pub method: Method,
}

/// See the module docs. `None` when the curve is empty or not positive and finite.
pub fn labels_to_target(labels: &[f64], mse: &[f64], target: f64) -> Option<LabelsToTarget> {
    if labels.is_empty()
        || labels.len() != mse.len()
        || !target.is_finite()
        || target <= 0.0
        || labels
            .iter()
            .chain(mse)
            .any(|x| !(x.is_finite() && *x > 0.0))
    {
        return None;
    }
    match mse.iter().position(|m| *m <= target) {
        Some(0) => Some(LabelsToTarget {
            labels: labels[0] * mse[0] / target,
            method: Method::Extrapolated,
        }),
        Some(i) => {
            let (n0, n1) = (labels[i - 1].ln(), labels[i].ln());
            let (m0, m1) = (mse[i - 1].ln(), mse[i].ln());
            let t = if m1 < m0 {
                (m0 - target.ln()) / (m0 - m1)
            } else {
                1.0
            };
            Some(LabelsToTarget {
                labels: (n0 + t.clamp(0.0, 1.0) * (n1 - n0)).exp(),
                method: Method::Interpolated,
            })
        }
        None => {
            let tail = labels.len().div_ceil(2);
            let start = labels.len() - tail;
            let (num, den) = labels[start..]
                .iter()
                .zip(&mse[start..])
                .fold((0.0, 0.0), |(a, b), (n, m)| (a + m / n, b + 1.0 / (n * n)));
            let c = num / den;
            Some(LabelsToTarget {
                labels: c / target,
                method: Method::Extrapolated,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_on_log_log_axes() {
        // MSE = 10/N exactly: the target 0.02 is reached at N = 500.
        let n = [100.0, 200.0, 400.0, 800.0];
        let m: Vec<f64> = n.iter().map(|x| 10.0 / x).collect();
        let l = labels_to_target(&n, &m, 0.02).unwrap();
        assert_eq!(l.method, Method::Interpolated);
        assert!((l.labels - 500.0).abs() < 1e-9, "{}", l.labels);
    }

    #[test]
    fn extrapolates_the_c_over_n_tail_beyond_the_run() {
        let n = [100.0, 200.0, 400.0, 800.0];
        let m: Vec<f64> = n.iter().map(|x| 10.0 / x).collect();
        let l = labels_to_target(&n, &m, 0.001).unwrap();
        assert_eq!(l.method, Method::Extrapolated);
        assert!((l.labels - 10_000.0).abs() < 1e-6, "{}", l.labels);
        let early = labels_to_target(&n, &m, 0.5).unwrap();
        assert_eq!(early.method, Method::Extrapolated);
        assert!((early.labels - 20.0).abs() < 1e-9);
    }

    #[test]
    fn stats_use_the_sample_standard_deviation() {
        let s = Stat::of([1.0, 3.0].into_iter());
        assert_eq!(s.mean, 2.0);
        assert!((s.sd - 2f64.sqrt()).abs() < 1e-15);
        assert_eq!(Stat::of([5.0].into_iter()).sd, 0.0);
    }
}
