//! Interventions: controlled response edits registered with intent, targets, confounds and cost.

use serde::{Deserialize, Serialize};

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

/// (attempts, accepted) summed over the observations of one bucket.
pub fn acceptance_in_bucket(observations: &[AcceptanceObservation], bucket: &str) -> (u64, u64) {
    observations
        .iter()
        .filter(|o| o.bucket == bucket)
        .fold((0, 0), |(a, k), o| (a + o.attempts, k + o.accepted))
}
