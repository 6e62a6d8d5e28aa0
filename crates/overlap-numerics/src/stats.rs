//! Small descriptive statistics used by the per-bucket metrics and drift (DESIGN.md §2).
//!
//! Owns: the Wilson 95% score interval ([`wilson_interval`], for acceptance rates), the exact
//! two-sample Kolmogorov–Smirnov distance ([`ks_distance`], `margin_shift`), Cohen's kappa for two
//! raters' binary verdicts ([`cohen_kappa`], audits), the sign-free angle between two directions
//! ([`angle_degrees`], `weakest_direction_angle`) and the relative Frobenius distance
//! ([`relative_frobenius`], `second_moment_shift`). Pure functions: inputs are checked for
//! finiteness and shape, results are never NaN or infinite; "undefined" is `None`, bad input is a
//! [`StatsError`]. No I/O, no knowledge of datasets.

use nalgebra::DMatrix;
use thiserror::Error;

/// Two-sided 95% normal quantile Φ⁻¹(0.975), to double precision.
pub const Z_95: f64 = 1.959963984540054;

/// Why a statistic could not be computed from its input.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum StatsError {
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("{what} has a non-finite value at index {index}: {value}")]
    NonFinite {
        what: &'static str,
        index: usize,
        value: f64,
    },
    #[error("dimensions differ: {left} against {right}")]
    DimensionMismatch { left: String, right: String },
    #[error("{what} is the zero vector, so it has no direction")]
    ZeroVector { what: &'static str },
    #[error("the reference matrix is zero, so a relative distance is undefined")]
    ZeroReference,
}

/// A closed interval [lower, upper] within [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub lower: f64,
    pub upper: f64,
}

/// Wilson score interval at 95% for `successes` out of `trials`.
///
/// `None` when `trials == 0` (no information) or `successes > trials` (not a proportion). The
/// Wilson interval is used rather than the Wald interval because acceptance rates of edits sit
/// near 0 or 1 with small counts, where Wald collapses to a point or leaves [0, 1].
pub fn wilson_interval(successes: u64, trials: u64) -> Option<Interval> {
    if trials == 0 || successes > trials {
        return None;
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = Z_95 * Z_95;
    let denominator = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denominator;
    let half = Z_95 / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // Mathematically lower = 0 at k = 0 and upper = 1 at k = n; rounding can land a few ulps
    // off (e.g. 0.9999999999999999 for 10/10, which would exclude p̂ = 1), so those ends are set
    // exactly and everything is clamped to [0, 1].
    let lower = if successes == 0 {
        0.0
    } else {
        (center - half).clamp(0.0, 1.0)
    };
    let upper = if successes == trials {
        1.0
    } else {
        (center + half).clamp(0.0, 1.0)
    };
    Some(Interval { lower, upper })
}

/// Two-sided exact sign-test p-value for `successes` out of `trials` untied pairs under
/// H₀: P(success) = ½, i.e. min(1, 2·P(X ≤ min(k, m−k))) with X ~ Binomial(m, ½). `None` without
/// trials or when `successes > trials`.
///
/// The tail is summed from its largest term down, in units of that term (whose logarithm is
/// accumulated term by term), so m in the millions neither overflows nor loses the tail; a p-value
/// below the smallest positive double underflows to 0.
pub fn sign_test_p(successes: u64, trials: u64) -> Option<f64> {
    if trials == 0 || successes > trials {
        return None;
    }
    let k = successes.min(trials - successes);
    if 2 * k == trials {
        return Some(1.0);
    }
    let m = trials as f64;
    // ln P(X = k) = ln C(m, k) − m ln 2.
    let ln_choose: f64 = (1..=k)
        .map(|i| ((m - k as f64 + i as f64) / i as f64).ln())
        .sum();
    let ln_top = ln_choose - m * std::f64::consts::LN_2;
    // Σ_{i ≤ k} P(X = i)/P(X = k): the ratio of consecutive terms is i/(m − i + 1) < 1.
    let mut term = 1.0_f64;
    let mut relative = 1.0_f64;
    let mut i = k;
    while i > 0 {
        term *= i as f64 / (m - i as f64 + 1.0);
        relative += term;
        if term < 1e-17 * relative {
            break;
        }
        i -= 1;
    }
    Some((2.0 * (ln_top + relative.ln()).exp()).min(1.0))
}

fn check_finite(what: &'static str, values: &[f64]) -> Result<(), StatsError> {
    match values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        Some((index, &value)) => Err(StatsError::NonFinite { what, index, value }),
        None => Ok(()),
    }
}

fn sorted_copy(values: &[f64]) -> Vec<f64> {
    // `+ 0.0` turns −0.0 into +0.0 so that the two zeros form a single tie group.
    let mut sorted: Vec<f64> = values.iter().map(|v| v + 0.0).collect();
    sorted.sort_by(f64::total_cmp);
    sorted
}

/// Exact two-sample Kolmogorov–Smirnov distance sup_x |F₁(x) − F₂(x)| between the empirical
/// distribution functions of `first` and `second`.
///
/// Ties (within a sample and across samples) are handled by evaluating both empirical CDFs only
/// after every observation equal to the current value has been consumed from both samples, so
/// equal samples give exactly 0. The supremum is formed from integer counts and divided once, so
/// the result is the correctly rounded value of the exact rational.
pub fn ks_distance(first: &[f64], second: &[f64]) -> Result<f64, StatsError> {
    if first.is_empty() {
        return Err(StatsError::Empty {
            what: "first sample",
        });
    }
    if second.is_empty() {
        return Err(StatsError::Empty {
            what: "second sample",
        });
    }
    check_finite("first sample", first)?;
    check_finite("second sample", second)?;
    let a = sorted_copy(first);
    let b = sorted_copy(second);
    let (n1, n2) = (a.len() as u128, b.len() as u128);
    let (mut i, mut j) = (0_usize, 0_usize);
    let mut best: u128 = 0;
    while let (Some(&x), Some(&y)) = (a.get(i), b.get(j)) {
        let value = x.min(y);
        while a.get(i).is_some_and(|&v| v == value) {
            i += 1;
        }
        while b.get(j).is_some_and(|&v| v == value) {
            j += 1;
        }
        // |i/n1 − j/n2| = |i·n2 − j·n1| / (n1·n2).
        let gap = (i as u128 * n2).abs_diff(j as u128 * n1);
        best = best.max(gap);
    }
    // Once one sample is exhausted its CDF is 1 and the other's only rises towards 1, so the gap
    // can only shrink: the loop has already seen the supremum.
    Ok(best as f64 / (n1 * n2) as f64)
}

/// Cohen's kappa for two raters' binary verdicts, one `(first, second)` pair per item.
///
/// κ = (p_o − p_e)/(1 − p_e). `None` when there are no items or when p_e = 1 (both raters gave
/// the same single verdict throughout, so chance agreement is certain and κ is 0/0). Computed
/// from integer counts with a single division.
pub fn cohen_kappa(verdicts: &[(bool, bool)]) -> Option<f64> {
    let n = verdicts.len() as i128;
    if n == 0 {
        return None;
    }
    let agree = verdicts.iter().filter(|(a, b)| a == b).count() as i128;
    let first_yes = verdicts.iter().filter(|(a, _)| *a).count() as i128;
    let second_yes = verdicts.iter().filter(|(_, b)| *b).count() as i128;
    // n²·p_e = A·B + (n − A)(n − B).
    let chance = first_yes * second_yes + (n - first_yes) * (n - second_yes);
    let denominator = n * n - chance;
    if denominator == 0 {
        return None;
    }
    Some((n * agree - chance) as f64 / denominator as f64)
}

/// The angle in degrees, in [0, 90], between the lines spanned by `u` and `v` (sign-free: v and
/// −v give the same angle), as used for eigenvector drift.
///
/// Uses Kahan's formula 2·atan2(‖û − v̂‖, ‖û + v̂‖) after orienting v̂ towards û, which stays accurate
/// for nearly parallel vectors where acos of the cosine loses half the digits.
pub fn angle_degrees(u: &[f64], v: &[f64]) -> Result<f64, StatsError> {
    if u.len() != v.len() {
        return Err(StatsError::DimensionMismatch {
            left: u.len().to_string(),
            right: v.len().to_string(),
        });
    }
    check_finite("first vector", u)?;
    check_finite("second vector", v)?;
    let unit = |x: &[f64], what: &'static str| -> Result<Vec<f64>, StatsError> {
        let scale = x.iter().fold(0.0_f64, |m, a| m.max(a.abs()));
        if scale == 0.0 {
            return Err(StatsError::ZeroVector { what });
        }
        // Scale first so that the squared norm cannot overflow or underflow.
        let scaled: Vec<f64> = x.iter().map(|a| a / scale).collect();
        let norm = scaled.iter().map(|a| a * a).sum::<f64>().sqrt();
        Ok(scaled.iter().map(|a| a / norm).collect())
    };
    let a = unit(u, "first vector")?;
    let mut b = unit(v, "second vector")?;
    if a.iter().zip(&b).map(|(x, y)| x * y).sum::<f64>() < 0.0 {
        b.iter_mut().for_each(|y| *y = -*y);
    }
    let difference = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt();
    let sum = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x + y) * (x + y))
        .sum::<f64>()
        .sqrt();
    Ok((2.0 * difference.atan2(sum)).to_degrees().clamp(0.0, 90.0))
}

/// Relative Frobenius distance ‖A − B‖_F / ‖B‖_F (B is the baseline).
pub fn relative_frobenius(a: &DMatrix<f64>, b: &DMatrix<f64>) -> Result<f64, StatsError> {
    if a.shape() != b.shape() {
        return Err(StatsError::DimensionMismatch {
            left: format!("{}×{}", a.nrows(), a.ncols()),
            right: format!("{}×{}", b.nrows(), b.ncols()),
        });
    }
    check_finite("first matrix", a.as_slice())?;
    check_finite("second matrix", b.as_slice())?;
    // Scale by the largest entry so that squares neither overflow nor underflow.
    let scale = a
        .iter()
        .chain(b.iter())
        .fold(0.0_f64, |m, x| m.max(x.abs()));
    let reference = if scale > 0.0 {
        b.iter().map(|x| (x / scale).powi(2)).sum::<f64>().sqrt()
    } else {
        0.0
    };
    if reference == 0.0 {
        return Err(StatsError::ZeroReference);
    }
    let difference = a
        .iter()
        .zip(b.iter())
        .map(|(x, y)| ((x - y) / scale).powi(2))
        .sum::<f64>()
        .sqrt();
    Ok(difference / reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_test_known_values() {
        // m = 10, k = 2: 2·(1 + 10 + 45)/1024.
        assert!((sign_test_p(2, 10).unwrap() - 0.109375).abs() < 1e-15);
        assert!((sign_test_p(8, 10).unwrap() - 0.109375).abs() < 1e-15);
        assert_eq!(sign_test_p(5, 10), Some(1.0));
        assert_eq!(sign_test_p(0, 1), Some(1.0));
        // m = 20, k = 3: 2·(1 + 20 + 190 + 1140)/2^20 = 0.0025768280029296875.
        assert!((sign_test_p(3, 20).unwrap() - 0.0025768280029296875).abs() < 1e-17);
        assert_eq!(sign_test_p(1, 0), None);
        // Large m stays finite and tiny, never NaN.
        let p = sign_test_p(400_000, 1_000_000).unwrap();
        assert!((0.0..1e-300).contains(&p));
        let p = sign_test_p(499_000, 1_000_000).unwrap();
        assert!(p > 0.04 && p < 0.05, "{p}");
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn wilson_matches_hand_computed_values() {
        // Reference values from the closed form evaluated in double precision.
        let cases = [
            (0, 10, 0.0, 0.2775327998628892),
            (5, 10, 0.236593090512564, 0.7634069094874361),
            (8, 10, 0.4901624715366418, 0.9433178485456248),
            (1, 1, 0.20654931437723745, 1.0),
            (37, 120, 0.232727369889163, 0.39582997723800684),
        ];
        for (k, n, lower, upper) in cases {
            let interval = wilson_interval(k, n).unwrap();
            assert!(close(interval.lower, lower, 1e-15), "{k}/{n}: {interval:?}");
            assert!(close(interval.upper, upper, 1e-15), "{k}/{n}: {interval:?}");
        }
        assert_eq!(wilson_interval(0, 0), None);
        assert_eq!(wilson_interval(3, 2), None);
    }

    #[test]
    fn ks_handles_ties_exactly() {
        assert_eq!(
            ks_distance(&[1.0, 2.0, 3.0], &[2.0, 2.0, 4.0]).unwrap(),
            1.0 / 3.0
        );
        // Naive merging that consumes the first sample's 1s before the second's reports 1.
        assert_eq!(ks_distance(&[1.0, 1.0], &[1.0, 2.0]).unwrap(), 0.5);
        assert_eq!(
            ks_distance(&[3.0, 1.0, 2.0], &[2.0, 3.0, 1.0]).unwrap(),
            0.0
        );
        assert_eq!(ks_distance(&[-0.0, 5.0], &[0.0, 5.0]).unwrap(), 0.0);
        assert_eq!(ks_distance(&[0.0], &[1.0]).unwrap(), 1.0);
        // F1 − F2 peaks at x = 2 with 3/4 − 1/5.
        let d = ks_distance(&[1.0, 2.0, 2.0, 9.0], &[3.0, 4.0, 5.0, 6.0, 2.0]).unwrap();
        assert_eq!(d, 0.55);
        assert!(matches!(
            ks_distance(&[], &[1.0]),
            Err(StatsError::Empty { .. })
        ));
        assert!(matches!(
            ks_distance(&[1.0], &[f64::NAN]),
            Err(StatsError::NonFinite { index: 0, .. })
        ));
    }

    #[test]
    fn kappa_hand_computed() {
        // 4 yes/yes, 1 yes/no, 2 no/yes, 3 no/no: p_o = 0.7, p_e = 0.5·0.6 + 0.5·0.4 = 0.5.
        let mut v = vec![(true, true); 4];
        v.push((true, false));
        v.extend([(false, true); 2]);
        v.extend([(false, false); 3]);
        assert!(close(cohen_kappa(&v).unwrap(), 0.4, 1e-15));
        assert_eq!(cohen_kappa(&[(true, true), (false, false)]), Some(1.0));
        assert_eq!(cohen_kappa(&[(true, false), (false, true)]), Some(-1.0));
        // Raters constant in different categories: p_o = 0, p_e = 0.
        assert_eq!(cohen_kappa(&[(true, false), (true, false)]), Some(0.0));
        assert_eq!(cohen_kappa(&[(true, true), (true, true)]), None);
        assert_eq!(cohen_kappa(&[]), None);
    }

    #[test]
    fn angle_is_sign_free_and_accurate() {
        assert!(close(
            angle_degrees(&[1.0, 0.0], &[1.0, 1.0]).unwrap(),
            45.0,
            1e-13
        ));
        assert!(close(
            angle_degrees(&[1.0, 0.0], &[-1.0, -1.0]).unwrap(),
            45.0,
            1e-13
        ));
        assert_eq!(angle_degrees(&[1.0, 0.0], &[0.0, 2.0]).unwrap(), 90.0);
        assert_eq!(angle_degrees(&[3.0, 4.0], &[-6.0, -8.0]).unwrap(), 0.0);
        // atan(1e-10) in degrees; acos(cos) would return exactly 0 here.
        let small = angle_degrees(&[1.0, 0.0], &[1.0, 1e-10]).unwrap();
        assert!(close(small, 5.729577951308232e-9, 1e-22));
        assert!(matches!(
            angle_degrees(&[0.0, 0.0], &[1.0, 0.0]),
            Err(StatsError::ZeroVector { .. })
        ));
        assert!(matches!(
            angle_degrees(&[1.0], &[1.0, 0.0]),
            Err(StatsError::DimensionMismatch { .. })
        ));
    }

    #[test]
    fn relative_frobenius_hand_computed() {
        let a = DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, 1.0]);
        let b = DMatrix::from_row_slice(2, 2, &[2.0, 0.0, 0.0, 2.0]);
        assert!(close(relative_frobenius(&a, &b).unwrap(), 0.5, 1e-15));
        assert_eq!(relative_frobenius(&b, &b).unwrap(), 0.0);
        assert_eq!(
            relative_frobenius(&a, &DMatrix::zeros(2, 2)),
            Err(StatsError::ZeroReference)
        );
        assert!(matches!(
            relative_frobenius(&a, &DMatrix::zeros(3, 2)),
            Err(StatsError::DimensionMismatch { .. })
        ));
        let huge = DMatrix::from_row_slice(1, 2, &[1e200, 0.0]);
        let huge2 = DMatrix::from_row_slice(1, 2, &[0.0, 1e200]);
        assert!(close(
            relative_frobenius(&huge, &huge2).unwrap(),
            std::f64::consts::SQRT_2,
            1e-15
        ));
    }
}
