//! Sampling plans: which comparisons of one bucket go to expert review. Pure: candidates, the
//! weakest direction and a seed in, a plan out.
//!
//! Entry points: [`alignment`] (|vᵀΔφ̃|/‖Δφ̃‖ of one comparison) and [`plan`] (the weakest-direction
//! draw, `top` or `weighted`, followed by quadrant probes for feature pairs). Everything is
//! decided over the candidates in ascending id order, so the plan does not depend on how the rows
//! were stored. Knows nothing of stores, files or reviewers; never prints.

use std::collections::HashSet;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The seed used when none is given (recorded with every sample, like any other seed).
pub const DEFAULT_SEED: u64 = 0;

/// A probe kind whose share among the bucket's comparisons that move both features is below this
/// is reported as rare: at 5% a review of a few hundred comparisons meets only a handful of them.
pub const RARE_SHARE: f64 = 0.05;

/// How the weakest-direction part of a sample is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// The K most aligned comparisons, ties broken by comparison id.
    Top,
    /// K draws without replacement with probability ∝ alignment².
    Weighted,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Top => "top",
            Strategy::Weighted => "weighted",
        }
    }

    pub fn parse(s: &str) -> Option<Strategy> {
        match s {
            "top" => Some(Strategy::Top),
            "weighted" => Some(Strategy::Weighted),
            _ => None,
        }
    }
}

/// Why a comparison is in a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Selection {
    /// Drawn for its alignment with the weakest direction.
    WeakestDirection,
    /// A probe of a feature pair whose two differences have opposite signs.
    CrossedProbe,
    /// A probe of a feature pair whose two differences have the same sign.
    ConcordantProbe,
}

impl Selection {
    pub fn as_str(self) -> &'static str {
        match self {
            Selection::WeakestDirection => "weakest-direction",
            Selection::CrossedProbe => "crossed-probe",
            Selection::ConcordantProbe => "concordant-probe",
        }
    }

    pub fn parse(s: &str) -> Option<Selection> {
        match s {
            "weakest-direction" => Some(Selection::WeakestDirection),
            "crossed-probe" => Some(Selection::CrossedProbe),
            "concordant-probe" => Some(Selection::ConcordantProbe),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum SamplingError {
    #[error("the sample size must be at least 1 (--n)")]
    EmptySample,
    #[error("the candidates have {rows} feature values for {ids} ids of dimension {d}")]
    Shape { ids: usize, rows: usize, d: usize },
    #[error("the direction has {found} components but the comparisons have {expected} features")]
    Dimension { expected: usize, found: usize },
    #[error("the direction is not a finite, non-zero vector")]
    BadDirection,
    #[error("comparison '{id}' has a non-finite standardized feature difference")]
    NonFinite { id: String },
    #[error("comparison id '{0}' appears twice among the candidates")]
    DuplicateId(String),
    #[error("pair ({0}, {1}) does not name two distinct features")]
    BadPair(usize, usize),
}

/// The comparisons of one bucket, as the sampler sees them.
#[derive(Debug, Clone, Default)]
pub struct Candidates {
    /// Comparison ids, unique.
    pub ids: Vec<String>,
    pub d: usize,
    /// Standardized Δφ̃, n×d row-major.
    pub rows: Vec<f64>,
    /// Already in an earlier audit sample of the version.
    pub audited: Vec<bool>,
}

impl Candidates {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn row(&self, t: usize) -> &[f64] {
        &self.rows[t * self.d..(t + 1) * self.d]
    }
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanOptions {
    /// K: the size of the weakest-direction draw.
    pub n: usize,
    pub seed: u64,
    pub strategy: Strategy,
    /// Feature index pairs to probe (crossed and concordant comparisons).
    pub pairs: Vec<(usize, usize)>,
    /// Also draw comparisons that an earlier sample of the version already holds.
    pub include_audited: bool,
}

/// One comparison of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedItem {
    /// Index into the candidates.
    pub candidate: usize,
    pub selection: Selection,
    /// 1-based position within its selection (rank by alignment for `top`, draw order for
    /// `weighted`, draw order within a probe kind).
    pub rank: usize,
    pub alignment: f64,
    /// The probed feature pair, for probes.
    pub pair: Option<(usize, usize)>,
}

/// How well one probe kind is represented in the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Coverage {
    Covered,
    /// Under [`RARE_SHARE`] of the comparisons that move both features.
    Rare,
    /// No comparison of the bucket is of this kind.
    Missing,
}

/// One probe kind of one pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindCoverage {
    /// Comparisons of the bucket of this kind (whether or not already audited).
    pub in_bucket: u64,
    /// in_bucket over the comparisons where both differences are non-zero; `None` when there are none.
    pub share: Option<f64>,
    /// Of this kind and available to this sample (not audited unless asked, not already drawn).
    pub eligible: u64,
    pub drawn: u64,
    pub coverage: Coverage,
}

/// The probes of one feature pair.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeReport {
    pub pair: (usize, usize),
    /// How many of each kind were asked for: max(1, ⌊K/4⌋).
    pub requested: usize,
    pub crossed: KindCoverage,
    pub concordant: KindCoverage,
}

/// A sampling plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Weakest-direction items first (in rank order), then each pair's crossed and concordant probes.
    pub items: Vec<PlannedItem>,
    /// Alignment of every candidate, in candidate order.
    pub alignments: Vec<f64>,
    /// Candidates skipped because an earlier sample holds them.
    pub excluded_audited: usize,
    /// Candidates orthogonal to the direction (alignment 0): they say nothing about it.
    pub orthogonal: usize,
    /// Candidates the weakest-direction draw could choose from.
    pub eligible: usize,
    pub probes: Vec<ProbeReport>,
}

/// |vᵀx| / (‖v‖‖x‖) ∈ [0, 1]; 0 for x = 0 (a comparison with no difference says nothing about any
/// direction). Inputs must be finite and of equal length.
pub fn alignment(direction: &[f64], x: &[f64]) -> f64 {
    // Scaling by the largest magnitude first keeps the squares from overflowing or underflowing.
    let scale = |v: &[f64]| v.iter().fold(0.0_f64, |m, a| m.max(a.abs()));
    let (sv, sx) = (scale(direction), scale(x));
    if sv == 0.0 || sx == 0.0 {
        return 0.0;
    }
    let mut dot = 0.0;
    let mut nv = 0.0;
    let mut nx = 0.0;
    for (a, b) in direction.iter().zip(x) {
        let (a, b) = (a / sv, b / sx);
        dot += a * b;
        nv += a * a;
        nx += b * b;
    }
    // Rounding can step a few ulps past 1 for a comparison lying exactly on the direction.
    (dot.abs() / (nv.sqrt() * nx.sqrt())).min(1.0)
}

fn validate(c: &Candidates, direction: &[f64], opts: &PlanOptions) -> Result<(), SamplingError> {
    if opts.n == 0 {
        return Err(SamplingError::EmptySample);
    }
    if c.rows.len() != c.ids.len() * c.d || c.audited.len() != c.ids.len() {
        return Err(SamplingError::Shape {
            ids: c.ids.len(),
            rows: c.rows.len(),
            d: c.d,
        });
    }
    if direction.len() != c.d {
        return Err(SamplingError::Dimension {
            expected: c.d,
            found: direction.len(),
        });
    }
    if direction.iter().any(|v| !v.is_finite()) || direction.iter().all(|v| *v == 0.0) {
        return Err(SamplingError::BadDirection);
    }
    for t in 0..c.len() {
        if c.row(t).iter().any(|v| !v.is_finite()) {
            return Err(SamplingError::NonFinite {
                id: c.ids[t].clone(),
            });
        }
    }
    for &(i, j) in &opts.pairs {
        if i == j || i >= c.d || j >= c.d {
            return Err(SamplingError::BadPair(i, j));
        }
    }
    Ok(())
}

/// Draws a plan. Same candidates, direction and options → the same plan, bit for bit.
///
/// The weakest-direction draw considers candidates with positive alignment that no earlier sample
/// holds (unless `include_audited`). `Weighted` uses the Efraimidis–Spirakis keys ln(u)/a²: taking
/// the K largest keys is exactly successive sampling without replacement with probability ∝ a².
/// One uniform is drawn per candidate in id order whether or not it is eligible, so excluding
/// audited comparisons does not reshuffle the keys of the others. Probes draw uniformly within each
/// kind (stream k+1 of the seed for the k-th pair, so adding a pair leaves the main draw unchanged)
/// among comparisons not already in the plan.
pub fn plan(
    candidates: &Candidates,
    direction: &[f64],
    opts: &PlanOptions,
) -> Result<Plan, SamplingError> {
    validate(candidates, direction, opts)?;
    let c = candidates;
    let mut order: Vec<usize> = (0..c.len()).collect();
    order.sort_by(|&a, &b| c.ids[a].cmp(&c.ids[b]));
    if let Some(w) = order.windows(2).find(|w| c.ids[w[0]] == c.ids[w[1]]) {
        return Err(SamplingError::DuplicateId(c.ids[w[0]].clone()));
    }
    let alignments: Vec<f64> = (0..c.len())
        .map(|t| alignment(direction, c.row(t)))
        .collect();
    let excluded = |t: usize| c.audited[t] && !opts.include_audited;
    let excluded_audited = (0..c.len()).filter(|&t| excluded(t)).count();
    // Weight a² may underflow for a tiny but positive alignment: such a comparison is as good as
    // orthogonal, and keeping the test on the weight keeps `top` and `weighted` on one set.
    let weight = |t: usize| alignments[t] * alignments[t];
    let eligible: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&t| !excluded(t) && weight(t) > 0.0)
        .collect();
    let orthogonal = (0..c.len())
        .filter(|&t| !excluded(t) && weight(t) <= 0.0)
        .count();

    let by_id = |a: usize, b: usize| c.ids[a].cmp(&c.ids[b]);
    let chosen: Vec<usize> = match opts.strategy {
        Strategy::Top => {
            let mut ranked = eligible.clone();
            ranked.sort_by(|&a, &b| {
                alignments[b]
                    .total_cmp(&alignments[a])
                    .then_with(|| by_id(a, b))
            });
            ranked.truncate(opts.n);
            ranked
        }
        Strategy::Weighted => {
            let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
            let mut key = vec![f64::NEG_INFINITY; c.len()];
            for &t in &order {
                // 1 − u ∈ (0, 1], so the logarithm is finite or 0.
                let u: f64 = rng.random();
                key[t] = (1.0 - u).ln() / weight(t);
            }
            let mut ranked = eligible.clone();
            ranked.sort_by(|&a, &b| key[b].total_cmp(&key[a]).then_with(|| by_id(a, b)));
            ranked.truncate(opts.n);
            ranked
        }
    };
    let mut taken: HashSet<usize> = chosen.iter().copied().collect();
    let mut items: Vec<PlannedItem> = chosen
        .iter()
        .enumerate()
        .map(|(r, &t)| PlannedItem {
            candidate: t,
            selection: Selection::WeakestDirection,
            rank: r + 1,
            alignment: alignments[t],
            pair: None,
        })
        .collect();

    let requested = (opts.n / 4).max(1);
    let mut probes = Vec::with_capacity(opts.pairs.len());
    for (k, &(i, j)) in opts.pairs.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        rng.set_stream(k as u64 + 1);
        let mut u = vec![0.0_f64; c.len()];
        for &t in &order {
            u[t] = rng.random();
        }
        let kind = |t: usize| -> Option<Selection> {
            let row = c.row(t);
            let (a, b) = (row[i], row[j]);
            if a == 0.0 || b == 0.0 {
                None
            } else if (a > 0.0) == (b > 0.0) {
                Some(Selection::ConcordantProbe)
            } else {
                Some(Selection::CrossedProbe)
            }
        };
        let crossed_total = (0..c.len())
            .filter(|&t| kind(t) == Some(Selection::CrossedProbe))
            .count() as u64;
        let concordant_total = (0..c.len())
            .filter(|&t| kind(t) == Some(Selection::ConcordantProbe))
            .count() as u64;
        let both = crossed_total + concordant_total;
        let mut draw = |selection: Selection, in_bucket: u64| -> KindCoverage {
            let mut pool: Vec<usize> = order
                .iter()
                .copied()
                .filter(|&t| kind(t) == Some(selection) && !excluded(t) && !taken.contains(&t))
                .collect();
            let eligible = pool.len() as u64;
            pool.sort_by(|&a, &b| u[a].total_cmp(&u[b]).then_with(|| by_id(a, b)));
            pool.truncate(requested);
            for (r, &t) in pool.iter().enumerate() {
                taken.insert(t);
                items.push(PlannedItem {
                    candidate: t,
                    selection,
                    rank: r + 1,
                    alignment: alignments[t],
                    pair: Some((i, j)),
                });
            }
            let share = (both > 0).then(|| in_bucket as f64 / both as f64);
            KindCoverage {
                in_bucket,
                share,
                eligible,
                drawn: pool.len() as u64,
                coverage: if in_bucket == 0 {
                    Coverage::Missing
                } else if share.is_some_and(|s| s < RARE_SHARE) {
                    Coverage::Rare
                } else {
                    Coverage::Covered
                },
            }
        };
        let crossed = draw(Selection::CrossedProbe, crossed_total);
        let concordant = draw(Selection::ConcordantProbe, concordant_total);
        probes.push(ProbeReport {
            pair: (i, j),
            requested,
            crossed,
            concordant,
        });
    }
    Ok(Plan {
        items,
        alignments,
        excluded_audited,
        orthogonal,
        eligible: eligible.len(),
        probes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates(rows: &[[f64; 2]]) -> Candidates {
        Candidates {
            ids: (0..rows.len()).map(|i| format!("c{i:02}")).collect(),
            d: 2,
            rows: rows.iter().flatten().copied().collect(),
            audited: vec![false; rows.len()],
        }
    }

    fn opts(n: usize, strategy: Strategy) -> PlanOptions {
        PlanOptions {
            n,
            seed: 3,
            strategy,
            pairs: vec![],
            include_audited: false,
        }
    }

    #[test]
    fn alignment_is_scale_free_and_bounded() {
        assert_eq!(alignment(&[1.0, 0.0], &[3.0, 0.0]), 1.0);
        assert_eq!(alignment(&[1.0, 0.0], &[-3.0, 0.0]), 1.0);
        assert_eq!(alignment(&[1.0, 0.0], &[0.0, 2.0]), 0.0);
        assert_eq!(alignment(&[1.0, 0.0], &[0.0, 0.0]), 0.0);
        let a = alignment(&[1.0, 1.0], &[1e200, 0.0]);
        assert!((a - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-15);
        let tiny = alignment(&[1.0, 1.0], &[1e-200, 1e-200]);
        assert!((tiny - 1.0).abs() < 1e-15);
    }

    #[test]
    fn top_breaks_ties_by_id_and_skips_orthogonal() {
        let c = candidates(&[[0.0, 1.0], [2.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]);
        let p = plan(&c, &[1.0, 0.0], &opts(3, Strategy::Top)).unwrap();
        let ids: Vec<usize> = p.items.iter().map(|i| i.candidate).collect();
        assert_eq!(ids, vec![1, 2, 3]);
        assert_eq!(p.orthogonal, 2);
        assert_eq!(p.eligible, 3);
    }

    #[test]
    fn weighted_is_reproducible_and_never_draws_orthogonal() {
        let rows: Vec<[f64; 2]> = (0..40)
            .map(|i| [f64::from(i % 7) - 3.0, f64::from(i % 5)])
            .collect();
        let c = candidates(&rows);
        let a = plan(&c, &[0.6, 0.8], &opts(10, Strategy::Weighted)).unwrap();
        let b = plan(&c, &[0.6, 0.8], &opts(10, Strategy::Weighted)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.items.len(), 10);
        assert!(a.items.iter().all(|i| i.alignment > 0.0));
        let other = PlanOptions {
            seed: 4,
            ..opts(10, Strategy::Weighted)
        };
        assert_ne!(plan(&c, &[0.6, 0.8], &other).unwrap().items, a.items);
    }

    #[test]
    fn excluding_audited_keeps_the_other_keys() {
        let rows: Vec<[f64; 2]> = (0..30).map(|i| [1.0, f64::from(i) / 10.0]).collect();
        let mut c = candidates(&rows);
        let first = plan(&c, &[1.0, 0.0], &opts(5, Strategy::Weighted)).unwrap();
        let dropped = first.items[0].candidate;
        c.audited[dropped] = true;
        let second = plan(&c, &[1.0, 0.0], &opts(4, Strategy::Weighted)).unwrap();
        let a: Vec<usize> = first.items[1..].iter().map(|i| i.candidate).collect();
        let b: Vec<usize> = second.items.iter().map(|i| i.candidate).collect();
        assert_eq!(a, b);
        assert_eq!(second.excluded_audited, 1);
    }

    #[test]
    fn probes_report_missing_kinds() {
        // Every comparison moves both features the same way: no crossed comparison exists.
        let rows: Vec<[f64; 2]> = (1..=12).map(|i| [f64::from(i), f64::from(i)]).collect();
        let c = candidates(&rows);
        let o = PlanOptions {
            pairs: vec![(0, 1)],
            ..opts(8, Strategy::Top)
        };
        let p = plan(&c, &[1.0, -1.0], &o).unwrap();
        let probe = &p.probes[0];
        assert_eq!(probe.requested, 2);
        assert_eq!(probe.crossed.coverage, Coverage::Missing);
        assert_eq!(probe.crossed.drawn, 0);
        assert_eq!(probe.concordant.drawn, 2);
        assert_eq!(probe.concordant.coverage, Coverage::Covered);
        // The direction (1, −1) is orthogonal to all of them.
        assert_eq!(p.eligible, 0);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let c = candidates(&[[1.0, 0.0]]);
        assert_eq!(
            plan(&c, &[1.0, 0.0], &opts(0, Strategy::Top)),
            Err(SamplingError::EmptySample)
        );
        assert_eq!(
            plan(&c, &[0.0, 0.0], &opts(1, Strategy::Top)),
            Err(SamplingError::BadDirection)
        );
        assert!(matches!(
            plan(&c, &[1.0], &opts(1, Strategy::Top)),
            Err(SamplingError::Dimension { .. })
        ));
        let mut nan = candidates(&[[f64::NAN, 0.0]]);
        assert!(matches!(
            plan(&nan, &[1.0, 0.0], &opts(1, Strategy::Top)),
            Err(SamplingError::NonFinite { .. })
        ));
        nan.rows = vec![1.0, 0.0];
        nan.ids = vec!["x".into()];
        let o = PlanOptions {
            pairs: vec![(1, 1)],
            ..opts(1, Strategy::Top)
        };
        assert_eq!(
            plan(&nan, &[1.0, 0.0], &o),
            Err(SamplingError::BadPair(1, 1))
        );
    }
}
