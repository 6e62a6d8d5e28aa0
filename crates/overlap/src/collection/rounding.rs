//! Whole-number counts from a continuous mixture, within a cost cap.
//!
//! Owns [`round_counts`]: largest-remainder rounding (ties to the earlier arm, so the result is
//! deterministic), then a repair that moves rounded-up labels from the most expensive arms to the
//! cheapest one until the cap holds. The repair always succeeds when the continuous mixture meets
//! the cap: flooring every count and giving the remaining labels to the cheapest arm costs at most
//! Σ_r N·π_r·c_r, because the remaining labels are the sum of the fractional parts.

/// Relative slack on the cap: the solver meets Σ π c ≤ cap to its own tolerance, so a cost above
/// the cap by a few ulps of the cap is rounding, not overspending.
const CAP_SLACK: f64 = 1e-9;

/// Counts summing to `total` that follow `pi` (non-negative, summing to 1 up to rounding) and, with
/// `cap`, cost at most `cap` (Σ count·cost) whenever the mixture itself does.
pub fn round_counts(total: u64, pi: &[f64], costs: &[f64], cap: Option<f64>) -> Vec<u64> {
    let k = pi.len();
    if k == 0 {
        return Vec::new();
    }
    let sum: f64 = pi.iter().map(|p| p.max(0.0)).sum();
    let share = |i: usize| -> f64 {
        if sum > 0.0 {
            pi[i].max(0.0) / sum
        } else {
            1.0 / k as f64
        }
    };
    let exact: Vec<f64> = (0..k).map(|i| share(i) * total as f64).collect();
    let mut counts: Vec<u64> = exact.iter().map(|x| x.floor() as u64).collect();
    let assigned: u64 = counts.iter().sum();
    let mut order: Vec<usize> = (0..k).collect();
    // Largest fractional part first; the stable sort keeps the earlier arm first on ties.
    order.sort_by(|&a, &b| {
        let fa = exact[a] - exact[a].floor();
        let fb = exact[b] - exact[b].floor();
        fb.total_cmp(&fa)
    });
    for &i in order.iter().take(total.saturating_sub(assigned) as usize) {
        counts[i] += 1;
    }
    // Floors can exceed `total` only through rounding of shares that sum above 1; trim from the end.
    let mut over = counts.iter().sum::<u64>().saturating_sub(total);
    for c in counts.iter_mut().rev() {
        let cut = over.min(*c);
        *c -= cut;
        over -= cut;
    }
    if let Some(cap) = cap {
        repair(&mut counts, &exact, costs, cap);
    }
    counts
}

/// Moves labels from rounded-up expensive arms to the cheapest arm until the cap holds.
fn repair(counts: &mut [u64], exact: &[f64], costs: &[f64], cap: f64) {
    let cost = |counts: &[u64]| -> f64 {
        counts
            .iter()
            .zip(costs)
            .map(|(n, c)| *n as f64 * c)
            .sum::<f64>()
    };
    let Some(cheapest) = (0..costs.len()).min_by(|&a, &b| costs[a].total_cmp(&costs[b])) else {
        return;
    };
    let limit = cap + CAP_SLACK * cap.abs().max(1.0);
    while cost(counts) > limit {
        let donor = (0..counts.len())
            .filter(|&i| {
                counts[i] > 0 && (counts[i] as f64) > exact[i] && costs[i] > costs[cheapest]
            })
            .max_by(|&a, &b| costs[a].total_cmp(&costs[b]).then(b.cmp(&a)));
        let Some(donor) = donor else {
            // Nothing left to move: the mixture itself is over the cap (the caller checked it is
            // not), so stop rather than loop.
            return;
        };
        counts[donor] -= 1;
        counts[cheapest] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sum_to_the_total_and_follow_the_mixture() {
        let c = round_counts(100, &[0.333, 0.333, 0.334], &[1.0; 3], None);
        assert_eq!(c.iter().sum::<u64>(), 100);
        assert_eq!(c, vec![33, 33, 34]);
        let c = round_counts(7, &[0.5, 0.5], &[1.0; 2], None);
        assert_eq!(c, vec![4, 3], "ties go to the earlier arm");
        assert_eq!(round_counts(5, &[0.0, 0.0], &[1.0; 2], None), vec![3, 2]);
    }

    #[test]
    fn the_cap_is_met_by_moving_rounded_up_labels_to_the_cheapest_arm() {
        // 10 labels at π = (0.42, 0.58): exact counts (4.2, 5.8) cost 4.2·1 + 5.8·3 = 21.6, and
        // largest-remainder rounding gives (4, 6), which costs 22.
        let pi = [0.42, 0.58];
        let costs = [1.0, 3.0];
        assert_eq!(round_counts(10, &pi, &costs, None), vec![4, 6]);
        let capped = round_counts(10, &pi, &costs, Some(21.6));
        assert_eq!(capped, vec![5, 5]);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn rounding_keeps_the_total_and_the_cap(
            raw in proptest::collection::vec(0.0f64..1.0, 1..6),
            costs in proptest::collection::vec(0.0f64..5.0, 6),
            total in 1u64..500,
        ) {
            let sum: f64 = raw.iter().sum();
            prop_assume!(sum > 1e-6);
            let pi: Vec<f64> = raw.iter().map(|p| p / sum).collect();
            let costs = &costs[..pi.len()];
            let exact: f64 = pi.iter().zip(costs).map(|(p, c)| p * c * total as f64).sum();
            let counts = round_counts(total, &pi, costs, Some(exact));
            prop_assert_eq!(counts.iter().sum::<u64>(), total);
            let cost: f64 = counts.iter().zip(costs).map(|(n, c)| *n as f64 * c).sum();
            prop_assert!(cost <= exact + 1e-9 * exact.max(1.0), "{} > {}", cost, exact);
            for (n, p) in counts.iter().zip(&pi) {
                // Rounding never moves an arm by more than the labels the repair may shift.
                prop_assert!((*n as f64 - p * total as f64).abs() < pi.len() as f64 + 1.0);
            }
        }
    }
}
