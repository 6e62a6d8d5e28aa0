//! Interventions: controlled response edits registered with intent, targets, confounds and cost.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::numerics::stats::{Interval, wilson_interval};

/// The editable description of an intervention; each change makes a new version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterventionSpec {
    pub family: String,
    pub intent: String,
    /// Cost of one edit attempt (in the user's unit, e.g. dollars or minutes).
    pub cost: f64,
    /// Features the intervention is meant to move.
    pub targets: Vec<String>,
    /// Features it may also move.
    pub confounds: Vec<String>,
    pub owner: Option<String>,
    pub description: Option<String>,
}

/// One version of a registered intervention as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intervention {
    pub name: String,
    pub version: u32,
    #[serde(flatten)]
    pub spec: InterventionSpec,
    pub created_at: String,
    pub created_by: String,
    /// Set once the intervention is retired (the latest version carries it).
    pub retired: Option<Retirement>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retirement {
    pub at: String,
    pub by: String,
    pub reason: String,
}

/// How often an edit produced a valid output in a bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceptanceObservation {
    pub bucket: String,
    pub attempts: u64,
    pub accepted: u64,
    pub note: Option<String>,
    pub recorded_at: String,
    pub recorded_by: String,
}

/// Edits attempted and accepted in one bucket, summed over an intervention's observations.
///
/// The one place acceptance rates, their Wilson intervals and effective costs are computed
/// (DESIGN §2 `acceptance_rate`, `effective_cost`): the registry listing, the analysis and the
/// design costs all read them from here, so they cannot disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Acceptance {
    pub attempts: u64,
    pub accepted: u64,
}

/// cost/acceptance_rate, or why there is none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EffectiveCost {
    /// What one accepted edit costs.
    PerAcceptedEdit(f64),
    /// No attempts were recorded in the bucket: the rate is unknown.
    NoObservations,
    /// Edits were attempted but none was accepted: an accepted edit cannot be bought.
    NeverAccepted { attempts: u64 },
}

impl EffectiveCost {
    /// The cost when there is one.
    pub fn value(self) -> Option<f64> {
        match self {
            EffectiveCost::PerAcceptedEdit(c) => Some(c),
            EffectiveCost::NoObservations | EffectiveCost::NeverAccepted { .. } => None,
        }
    }
}

impl Acceptance {
    /// The sums over the observations of one bucket.
    pub fn in_bucket(observations: &[AcceptanceObservation], bucket: &str) -> Acceptance {
        observations
            .iter()
            .filter(|o| o.bucket == bucket)
            .fold(Acceptance::default(), |a, o| a.plus(o))
    }

    /// The sums per bucket, sorted by bucket name.
    pub fn by_bucket(observations: &[AcceptanceObservation]) -> BTreeMap<&str, Acceptance> {
        let mut sums: BTreeMap<&str, Acceptance> = BTreeMap::new();
        for o in observations {
            let e = sums.entry(o.bucket.as_str()).or_default();
            *e = e.plus(o);
        }
        sums
    }

    fn plus(self, o: &AcceptanceObservation) -> Acceptance {
        Acceptance {
            attempts: self.attempts + o.attempts,
            accepted: self.accepted + o.accepted,
        }
    }

    /// accepted/attempted; `None` without attempts.
    pub fn rate(self) -> Option<f64> {
        (self.attempts > 0).then(|| self.accepted as f64 / self.attempts as f64)
    }

    /// The Wilson 95% interval of the rate; `None` without attempts.
    pub fn wilson(self) -> Option<Interval> {
        wilson_interval(self.accepted, self.attempts)
    }

    /// cost/acceptance_rate for an intervention whose edit attempt costs `cost`.
    pub fn effective_cost(self, cost: f64) -> EffectiveCost {
        match self.rate() {
            None => EffectiveCost::NoObservations,
            Some(rate) if rate > 0.0 => EffectiveCost::PerAcceptedEdit(cost / rate),
            Some(_) => EffectiveCost::NeverAccepted {
                attempts: self.attempts,
            },
        }
    }
}

/// Acceptance of an intervention in one bucket with observations, as `intervention show` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketAcceptance {
    pub bucket: String,
    pub attempts: u64,
    pub accepted: u64,
    pub acceptance_rate: f64,
    pub wilson_low: f64,
    pub wilson_high: f64,
    /// cost/acceptance_rate; `None` when nothing was accepted.
    pub effective_cost: Option<f64>,
}

/// One row per bucket with observations, sorted by bucket.
pub fn acceptance_by_bucket(
    cost: f64,
    observations: &[AcceptanceObservation],
) -> Vec<BucketAcceptance> {
    Acceptance::by_bucket(observations)
        .into_iter()
        .filter(|(_, a)| a.attempts > 0)
        .map(|(bucket, a)| {
            let wilson = a.wilson();
            BucketAcceptance {
                bucket: bucket.to_owned(),
                attempts: a.attempts,
                accepted: a.accepted,
                acceptance_rate: a.rate().unwrap_or(0.0),
                wilson_low: wilson.map_or(0.0, |i| i.lower),
                wilson_high: wilson.map_or(1.0, |i| i.upper),
                effective_cost: a.effective_cost(cost).value(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observation(bucket: &str, attempts: u64, accepted: u64) -> AcceptanceObservation {
        AcceptanceObservation {
            bucket: bucket.into(),
            attempts,
            accepted,
            note: None,
            recorded_at: String::new(),
            recorded_by: String::new(),
        }
    }

    #[test]
    fn effective_cost_says_why_there_is_none() {
        let obs = [
            observation("a", 10, 4),
            observation("a", 10, 6),
            observation("b", 5, 0),
        ];
        let a = Acceptance::in_bucket(&obs, "a");
        assert_eq!((a.attempts, a.accepted), (20, 10));
        assert_eq!(a.effective_cost(3.0), EffectiveCost::PerAcceptedEdit(6.0));
        assert_eq!(
            Acceptance::in_bucket(&obs, "b").effective_cost(3.0),
            EffectiveCost::NeverAccepted { attempts: 5 }
        );
        assert_eq!(
            Acceptance::in_bucket(&obs, "c").effective_cost(3.0),
            EffectiveCost::NoObservations
        );
        let rows = acceptance_by_bucket(3.0, &obs);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].effective_cost, Some(6.0));
        assert_eq!(rows[1].effective_cost, None);
    }
}
