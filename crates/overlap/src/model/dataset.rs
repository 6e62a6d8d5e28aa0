//! Comparison records, feature schemas and arms.
//!
//! A `Comparison` is one labeled pair as imported (per-side features or Δφ directly). The feature
//! schema fixes the order of features and their frozen scales (DESIGN §2 "Standardization").

use serde::{Deserialize, Serialize};

/// Where the scales of a schema came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScaleSource {
    /// Root-mean-square of Δφ_j over the first version, then frozen.
    Rms,
    /// Every scale 1 (`--scales unit`).
    Unit,
    /// Given explicitly (`--scales FILE.json`).
    File,
}

/// Ordered feature names with a positive scale per feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSchema {
    pub features: Vec<String>,
    pub scales: Vec<f64>,
    pub scale_source: ScaleSource,
    /// The built-in text feature map (e.g. `text-v1`) when the features were computed from text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_map: Option<String>,
}

impl FeatureSchema {
    pub fn dim(&self) -> usize {
        self.features.len()
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.features.iter().position(|f| f == name)
    }
}

/// Feature values of a record: per side, or the difference directly.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureValues {
    Sides { a: Vec<f64>, b: Vec<f64> },
    Delta(Vec<f64>),
}

impl FeatureValues {
    /// Writes Δφ = φ(a) − φ(b) into `out` (cleared first).
    pub fn delta_into(&self, out: &mut Vec<f64>) {
        out.clear();
        match self {
            FeatureValues::Sides { a, b } => out.extend(a.iter().zip(b).map(|(x, y)| x - y)),
            FeatureValues::Delta(d) => out.extend_from_slice(d),
        }
    }

    pub fn delta(&self) -> Vec<f64> {
        let mut out = Vec::new();
        self.delta_into(&mut out);
        out
    }
}

/// One side of a comparison as shown to reviewers and exporters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Side {
    pub intervention: Option<String>,
    pub features: Option<Vec<f64>>,
    pub text: Option<String>,
}

/// One labeled comparison. `label` 1 means side a was preferred.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub id: String,
    pub bucket: String,
    pub group: Option<String>,
    pub prompt_id: Option<String>,
    pub label: u8,
    pub labeler: Option<String>,
    pub a_intervention: Option<String>,
    pub b_intervention: Option<String>,
    pub values: FeatureValues,
    pub prompt: Option<String>,
    pub a_text: Option<String>,
    pub b_text: Option<String>,
}

impl Comparison {
    pub fn arm(&self) -> Arm {
        Arm::of(
            self.a_intervention.as_deref(),
            self.b_intervention.as_deref(),
        )
    }
}

/// The unordered pair of interventions applied to the two sides of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Arm(String);

/// The name of an unedited side and of the arm with no edit on either side.
pub const BASELINE: &str = "baseline";

impl Arm {
    /// `baseline` when neither side was edited, else both side names sorted and joined by `/`.
    pub fn of(a: Option<&str>, b: Option<&str>) -> Arm {
        let a = a.unwrap_or(BASELINE);
        let b = b.unwrap_or(BASELINE);
        if a == BASELINE && b == BASELINE {
            return Arm(BASELINE.to_string());
        }
        let (x, y) = if a <= b { (a, b) } else { (b, a) };
        Arm(format!("{x}/{y}"))
    }

    /// Parses an arm name as printed (`baseline`, `baseline/shorten`), normalizing the order.
    pub fn parse(s: &str) -> Option<Arm> {
        if s == BASELINE {
            return Some(Arm(BASELINE.to_string()));
        }
        let (a, b) = s.split_once('/')?;
        if a.is_empty() || b.is_empty() || b.contains('/') {
            return None;
        }
        Some(Arm::of(Some(a), Some(b)))
    }

    /// The interventions named by the arm (without `baseline`).
    pub fn interventions(&self) -> Vec<&str> {
        self.0.split('/').filter(|s| *s != BASELINE).collect()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Arm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A dataset version as stored: its identity (`NAME@V`, content digest, parent), the frozen
/// feature schema, its size and provenance. `id` is the store's key for the version, meaningful to
/// the store that returned it only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionInfo {
    #[serde(skip)]
    pub id: i64,
    pub dataset: String,
    pub version: u32,
    pub parent: Option<u32>,
    pub digest: String,
    pub schema: FeatureSchema,
    pub n: u64,
    pub dropped_ties: u64,
    pub source: Option<String>,
    pub note: Option<String>,
    pub created_at: String,
    pub created_by: String,
    /// Records the import rejected (`--skip-invalid`); 0 for a strict import.
    #[serde(skip_serializing_if = "is_zero")]
    pub rejected: u64,
    /// SHA-256 of the rejects file that lists them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejects_sha256: Option<String>,
    /// Text pairs: `conversational` when every pair's sides were message lists (a TRL export
    /// then writes message lists too), `standard` otherwise; `None` for feature records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_layout: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl VersionInfo {
    pub fn label(&self) -> String {
        format!("{}@{}", self.dataset, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arms_are_unordered() {
        assert_eq!(Arm::of(None, None).as_str(), "baseline");
        assert_eq!(Arm::of(Some("shorten"), None).as_str(), "baseline/shorten");
        assert_eq!(
            Arm::of(None, Some("shorten")),
            Arm::of(Some("shorten"), None)
        );
        assert_eq!(
            Arm::of(Some("shorten"), Some("expand")).as_str(),
            "expand/shorten"
        );
        assert_eq!(
            Arm::parse("shorten/baseline"),
            Some(Arm::of(Some("shorten"), None))
        );
        assert_eq!(Arm::parse("x"), None);
        assert_eq!(
            Arm::of(Some("expand"), Some("shorten")).interventions(),
            vec!["expand", "shorten"]
        );
    }
}

/// The columnar data of a version that analysis reads: Δφ in raw units and per-row indexes into
/// the version's dictionaries of buckets, arms and groups (dictionaries in first-seen order).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VersionData {
    pub d: usize,
    /// n×d, row-major, raw units (not standardized).
    pub delta: Vec<f64>,
    pub labels: Vec<u8>,
    pub bucket: Vec<u32>,
    pub arm: Vec<u32>,
    /// `NO_GROUP` where a record has no group.
    pub group: Vec<u32>,
    pub buckets: Vec<String>,
    pub arms: Vec<String>,
    pub groups: Vec<String>,
}

/// Group index of a record without a group.
pub const NO_GROUP: u32 = u32::MAX;

impl VersionData {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn row(&self, t: usize) -> &[f64] {
        &self.delta[t * self.d..(t + 1) * self.d]
    }
}
