//! The feasible set of mixtures: {π : π_a ≥ γ_a, Σπ = 1, Σ c_a π_a ≤ B}.
//!
//! Owns the exact status decision, the change of variables π = γ + m·σ (σ on the simplex of
//! the free mass m = 1 − Σγ, with an average-cost cap t on σ), strictly interior starting
//! points, the exact linear program max_σ vᵀσ that every certificate uses, and the final
//! clean-up that makes a returned π feasible. It must not know about matrices or criteria.

use super::DesignError;

/// Free mass below this is treated as none: the polytope is the single point γ (plus rounding).
const POINT_MASS: f64 = 1e-12;
/// A cost cap within this (relative to the largest cost) of the cheapest cost leaves no
/// interior: only the cheapest arms may take free mass, and the cap is then implied.
const TIGHT_CAP: f64 = 1e-12;

pub(crate) enum Feasibility {
    Feasible(Polytope),
    Infeasible {
        cheapest_cost: Option<f64>,
        reason: String,
    },
}

/// The feasible polytope in the σ variables.
#[derive(Debug, Clone)]
pub(crate) struct Polytope {
    /// Lower bounds γ (zeros when none were given).
    pub gamma: Vec<f64>,
    /// Free mass m = 1 − Σγ, ≥ 0.
    pub m_free: f64,
    /// Costs as given.
    pub costs: Vec<f64>,
    /// Cap on Σ c_a σ_a, `None` when the budget cannot bind (or after a tight cap was turned
    /// into a restriction of `allowed`).
    pub cap: Option<f64>,
    /// Arms that may carry free mass.
    pub allowed: Vec<bool>,
    /// An allowed arm of least cost (lowest index among ties).
    pub cheapest: usize,
}

impl Polytope {
    /// Decide the status exactly and build the polytope of a feasible problem.
    pub(super) fn decide(
        costs: &[f64],
        min_mass: Option<&[f64]>,
        budget: Option<f64>,
        arms: usize,
    ) -> Result<Feasibility, DesignError> {
        let gamma: Vec<f64> = match min_mass {
            Some(g) => g.to_vec(),
            None => vec![0.0; arms],
        };
        let sum_gamma: f64 = gamma.iter().sum();
        // Σγ slightly above 1 by rounding (e.g. three times 1/3) is still the point γ.
        if sum_gamma > 1.0 + POINT_MASS {
            return Ok(Feasibility::Infeasible {
                cheapest_cost: None,
                reason: format!("min masses sum to {sum_gamma} > 1: no mixture can meet them"),
            });
        }
        let m_free = (1.0 - sum_gamma).max(0.0);
        let base_cost: f64 = gamma.iter().zip(costs).map(|(g, c)| g * c).sum();
        let mut cheapest = 0;
        for (a, &c) in costs.iter().enumerate() {
            if c < costs[cheapest] {
                cheapest = a;
            }
        }
        let c_min = costs[cheapest];
        let c_max = costs.iter().fold(0.0f64, |m, &c| m.max(c));
        let cheapest_cost = base_cost + m_free * c_min;
        let mut allowed = vec![true; arms];
        let mut cap = None;
        if let Some(b) = budget {
            if b < cheapest_cost {
                let reason = if min_mass.is_some() && b >= c_min {
                    format!(
                        "budget {b} is below {cheapest_cost}, the cheapest mixture that meets the min masses"
                    )
                } else {
                    format!("budget {b} is below the cheapest feasible cost {cheapest_cost}")
                };
                return Ok(Feasibility::Infeasible {
                    cheapest_cost: Some(cheapest_cost),
                    reason,
                });
            }
            if m_free > POINT_MASS {
                let t = (b - base_cost) / m_free;
                if t < c_max {
                    if t - c_min <= TIGHT_CAP * c_max.max(f64::MIN_POSITIVE) {
                        // No interior: only arms no dearer than the cap may take free mass.
                        for (a, &c) in costs.iter().enumerate() {
                            allowed[a] = c <= t || c == c_min;
                        }
                    } else {
                        cap = Some(t);
                    }
                }
            }
        }
        Ok(Feasibility::Feasible(Polytope {
            gamma,
            m_free,
            costs: costs.to_vec(),
            cap,
            allowed,
            cheapest,
        }))
    }

    pub(super) fn arms(&self) -> usize {
        self.gamma.len()
    }

    /// Whether the polytope is (to rounding) the single point γ + m·e_cheapest.
    pub(super) fn is_point(&self) -> bool {
        self.m_free <= POINT_MASS
    }

    /// Indices of the allowed arms, ascending.
    pub(super) fn allowed_arms(&self) -> Vec<usize> {
        (0..self.arms()).filter(|&a| self.allowed[a]).collect()
    }

    /// Exact max of Σ v_a σ_a over σ ≥ 0 on the allowed arms, Σσ = 1, Σ c_a σ_a ≤ cap
    /// (`v` indexed by arm).
    pub(super) fn lp_max(&self, v: &[f64]) -> f64 {
        let items: Vec<(f64, f64)> = (0..self.arms())
            .filter(|&a| self.allowed[a])
            .map(|a| (self.costs[a], v[a]))
            .collect();
        lp_max(&items, self.cap)
    }

    /// A strictly interior σ on `set` (positive, Σσ = 1, strictly under the cap). `set` must
    /// contain an arm whose cost is below the cap; the cheapest allowed arm always qualifies.
    pub(super) fn interior(&self, set: &[usize]) -> Vec<f64> {
        let n = set.len();
        let uniform = 1.0 / n as f64;
        let Some(t) = self.cap else {
            return vec![uniform; n];
        };
        let mut lo = 0;
        for (i, &a) in set.iter().enumerate() {
            if self.costs[a] < self.costs[set[lo]] {
                lo = i;
            }
        }
        let c_lo = self.costs[set[lo]];
        let c_bar = set.iter().map(|&a| self.costs[a]).sum::<f64>() * uniform;
        // Spend at most half of the slack between the cheapest arm and the cap.
        let theta = if c_bar > c_lo {
            (0.5 * (t - c_lo) / (c_bar - c_lo)).min(1.0)
        } else {
            1.0
        };
        let mut sigma = vec![theta * uniform; n];
        sigma[lo] += 1.0 - theta;
        sigma
    }

    /// Turn σ (over all arms; ignored where not allowed) into a feasible π: clip at 0,
    /// renormalize, pull cost back under the cap by moving mass to the cheapest arm.
    pub(super) fn to_pi(&self, sigma: &[f64]) -> Vec<f64> {
        let n = self.arms();
        let mut s: Vec<f64> = (0..n)
            .map(|a| if self.allowed[a] { sigma[a] } else { 0.0 })
            .collect();
        if !repair(&mut s, &self.costs, self.cap) {
            s = vec![0.0; n];
            s[self.cheapest] = 1.0;
        }
        self.gamma
            .iter()
            .zip(&s)
            .map(|(g, x)| g + self.m_free * x)
            .collect()
    }

    /// The point used when there is no free mass to place.
    pub(super) fn point(&self) -> Vec<f64> {
        let mut s = vec![0.0; self.arms()];
        s[self.cheapest] = 1.0;
        self.to_pi(&s)
    }

    /// Upper bound of Σ_a π_a v_a over the polytope (exact LP), in π units.
    pub(super) fn max_linear(&self, v: &[f64]) -> f64 {
        let fixed: f64 = self.gamma.iter().zip(v).map(|(g, x)| g * x).sum();
        fixed + self.m_free * self.lp_max(v)
    }
}

/// max Σ x_i v_i over x ≥ 0, Σ x = 1, Σ x_i c_i ≤ cap, for items (c_i, v_i).
///
/// An LP with two constraints has an optimal vertex with at most two non-zero entries: a
/// single item within the cap, or two items on either side of it mixed to spend exactly the
/// cap. Enumerating those is exact and, for at most a few hundred arms, cheap.
fn lp_max(items: &[(f64, f64)], cap: Option<f64>) -> f64 {
    let mut best = f64::NEG_INFINITY;
    let Some(t) = cap else {
        return items.iter().fold(best, |m, &(_, v)| m.max(v));
    };
    let mut low = Vec::new();
    let mut high = Vec::new();
    for &(c, v) in items {
        if c <= t {
            best = best.max(v);
            if c < t {
                low.push((c, v));
            }
        } else {
            high.push((c, v));
        }
    }
    for &(cb, vb) in &high {
        if vb <= best {
            continue;
        }
        for &(ca, va) in &low {
            if va >= vb {
                continue;
            }
            let theta = (t - ca) / (cb - ca);
            best = best.max(va + theta * (vb - va));
        }
    }
    best
}

/// Make σ a point of {σ ≥ 0, Σσ = 1, Σ c σ ≤ cap}: clip at 0, renormalize, and pull the cost
/// back under the cap by moving mass to the cheapest entry (which is under the cap whenever
/// the set is non-empty). Returns `false` when σ has no positive finite mass to start from.
pub(crate) fn repair(sigma: &mut [f64], costs: &[f64], cap: Option<f64>) -> bool {
    for x in sigma.iter_mut() {
        *x = x.max(0.0);
    }
    let total: f64 = sigma.iter().sum();
    if !(total > 0.0 && total.is_finite()) {
        return false;
    }
    for x in sigma.iter_mut() {
        *x /= total;
    }
    if let Some(t) = cap {
        let cost: f64 = sigma.iter().zip(costs).map(|(x, c)| x * c).sum();
        let mut k = 0;
        for (i, &c) in costs.iter().enumerate() {
            if c < costs[k] {
                k = i;
            }
        }
        let ck = costs[k];
        if cost > t && cost > ck {
            let theta = ((cost - t) / (cost - ck)).min(1.0);
            for x in sigma.iter_mut() {
                *x *= 1.0 - theta;
            }
            sigma[k] += theta;
        }
    }
    true
}

/// [`lp_max`] over parallel slices of costs and values.
pub(crate) fn lp_max_costs(costs: &[f64], v: &[f64], cap: Option<f64>) -> f64 {
    let items: Vec<(f64, f64)> = costs.iter().copied().zip(v.iter().copied()).collect();
    lp_max(&items, cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feasible(costs: &[f64], gamma: Option<&[f64]>, budget: Option<f64>) -> Polytope {
        match Polytope::decide(costs, gamma, budget, costs.len()) {
            Ok(Feasibility::Feasible(p)) => p,
            _ => panic!("expected feasible"),
        }
    }

    #[test]
    fn status_is_exact() {
        let costs = [1.0, 2.0, 3.0];
        let gamma = [0.2, 0.2, 0.2];
        // cheapest = 0.2 + 0.4 + 0.6 + 0.4 * 1 = 1.6
        assert!(matches!(
            Polytope::decide(&costs, Some(&gamma), Some(1.59), 3),
            Ok(Feasibility::Infeasible { cheapest_cost: Some(c), .. }) if (c - 1.6).abs() < 1e-12
        ));
        assert!(matches!(
            Polytope::decide(&costs, Some(&gamma), Some(1.6), 3),
            Ok(Feasibility::Feasible(_))
        ));
        assert!(matches!(
            Polytope::decide(&costs, Some(&[0.5, 0.6, 0.0]), None, 3),
            Ok(Feasibility::Infeasible {
                cheapest_cost: None,
                ..
            })
        ));
    }

    #[test]
    fn lp_mixes_across_the_cap() {
        let p = feasible(&[1.0, 3.0], None, Some(2.0));
        // σ = (0.5, 0.5) spends exactly 2: value 0.5 * 0 + 0.5 * 10.
        assert!((p.lp_max(&[0.0, 10.0]) - 5.0).abs() < 1e-12);
        assert!((p.lp_max(&[4.0, 1.0]) - 4.0).abs() < 1e-12);
    }

    #[test]
    fn interior_is_strict_and_repair_is_feasible() {
        let p = feasible(&[1.0, 3.0, 5.0], Some(&[0.1, 0.0, 0.0]), Some(2.0));
        let set = [0, 1, 2];
        let s = p.interior(&set);
        let cost: f64 = s.iter().zip(&p.costs).map(|(x, c)| x * c).sum();
        assert!(s.iter().all(|&x| x > 0.0));
        assert!(cost < p.cap.unwrap_or(f64::INFINITY));
        let pi = p.to_pi(&[0.0, 0.0, 1.0]);
        let total_cost: f64 = pi.iter().zip(&p.costs).map(|(x, c)| x * c).sum();
        assert!(total_cost <= 2.0 + 1e-12);
        assert!((pi.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
