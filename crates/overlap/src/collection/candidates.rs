//! Which unlabeled pairs fill each arm's count of a work order.
//!
//! Owns [`select`]: within each arm, candidates are ranked by the information one label adds
//! along the direction the batch leaves weakest, g(ŵᵀx)·(vᵀx)² (x = Δφ̃, v =
//! [`WorkOrder::weakest_after`]), highest first, ties by id; an optional margin band keeps only
//! candidates whose |ŵᵀx| is within a half-width of a target margin τ (difficulty calibration:
//! labelers agree with the model about σ(τ) of the time there). Every arm reports how many
//! candidates it had, how many passed the band and whether it ran short. Pure; reading the
//! candidate file is `ingest`'s job.

use serde::Serialize;

use super::{CollectionError, WorkOrder};
use crate::numerics::btl::curvature;

/// An unlabeled pair offered for labeling.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: String,
    pub arm: String,
    /// Standardized Δφ̃.
    pub x: Vec<f64>,
}

/// Keep candidates with |ŵᵀx| ∈ [max(0, τ − h), τ + h].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MarginBand {
    pub target: f64,
    pub half_width: f64,
}

/// A chosen candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pick {
    pub id: String,
    pub arm: String,
    /// ŵᵀx.
    pub margin: f64,
    /// g(ŵᵀx)·(vᵀx)².
    pub score: f64,
}

/// Supply of candidates for one arm of the order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmSupply {
    pub arm: String,
    /// The arm's count in the work order.
    pub requested: u64,
    /// Candidates in this arm.
    pub candidates: u64,
    /// Of those, inside the margin band (all of them without a band).
    pub in_band: u64,
    pub selected: u64,
    /// requested − selected: labels the file could not supply.
    pub short: u64,
}

/// The candidates chosen for a work order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selection {
    pub band: Option<MarginBand>,
    /// Per arm of the order, sorted by arm.
    pub arms: Vec<ArmSupply>,
    /// Chosen candidates, by arm, best first.
    pub picks: Vec<Pick>,
    /// Candidates whose arm is not a candidate arm of the order.
    pub other_arms: u64,
}

impl Selection {
    /// Whether any arm got fewer candidates than its count.
    pub fn any_short(&self) -> bool {
        self.arms.iter().any(|a| a.short > 0)
    }
}

/// Ranks and picks candidates for every arm of `order` (see the module docs).
pub fn select(
    order: &WorkOrder,
    candidates: &[Candidate],
    w: &[f64],
    band: Option<MarginBand>,
) -> Result<Selection, CollectionError> {
    let d = w.len();
    let v = &order.weakest_after;
    if v.len() != d {
        return Err(CollectionError::Input(format!(
            "the work order's weakest direction has {} entries, ŵ has {d}",
            v.len()
        )));
    }
    if let Some(b) = band {
        if !(b.target.is_finite() && b.target >= 0.0 && b.half_width.is_finite())
            || b.half_width <= 0.0
        {
            return Err(CollectionError::Input(format!(
                "--margin-target {} needs a finite target ≥ 0 and a positive band half-width (found {})",
                b.target, b.half_width
            )));
        }
    }
    let dot = |a: &[f64], b: &[f64]| -> f64 { a.iter().zip(b).map(|(x, y)| x * y).sum() };
    let mut arms = Vec::with_capacity(order.arms.len());
    let mut picks = Vec::new();
    let mut matched = 0u64;
    for line in &order.arms {
        let mut pool: Vec<Pick> = Vec::new();
        let mut in_arm = 0u64;
        for c in candidates.iter().filter(|c| c.arm == line.arm) {
            in_arm += 1;
            if c.x.len() != d || c.x.iter().any(|x| !x.is_finite()) {
                return Err(CollectionError::Input(format!(
                    "candidate '{}' has {} finite features, expected {d}",
                    c.id,
                    c.x.len()
                )));
            }
            let margin = dot(w, &c.x);
            if let Some(b) = band {
                let lo = (b.target - b.half_width).max(0.0);
                let hi = b.target + b.half_width;
                if !(lo..=hi).contains(&margin.abs()) {
                    continue;
                }
            }
            let along = dot(v, &c.x);
            pool.push(Pick {
                id: c.id.clone(),
                arm: c.arm.clone(),
                margin,
                score: curvature(margin) * along * along,
            });
        }
        matched += in_arm;
        pool.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        let in_band = pool.len() as u64;
        pool.truncate(line.count as usize);
        let selected = pool.len() as u64;
        arms.push(ArmSupply {
            arm: line.arm.clone(),
            requested: line.count,
            candidates: in_arm,
            in_band,
            selected,
            short: line.count - selected,
        });
        picks.extend(pool);
    }
    Ok(Selection {
        band,
        arms,
        picks,
        other_arms: candidates.len() as u64 - matched,
    })
}
