//! Text pairs and the built-in text feature maps (DESIGN.md §3 "Text pairs").
//!
//! Owns two pure steps of importing `{"prompt", "chosen", "rejected"}`-style data: [`parse_pair`]
//! turns one already-decoded JSON object into a [`TextPair`] (or every [`FieldIssue`] of that line),
//! and a versioned feature map ([`FeatureMap`]: [`text_v2`], the default, or the frozen [`text_v1`])
//! turns each response into interpretable proxies φ(x, y). The importer computes
//! `map.features(&pair.prompt, &pair.response_a)` minus the same for `response_b` to get Δφ, and
//! records [`FeatureMap::name`] and [`FeatureMap::feature_names`] (then the pair's own features) as
//! the dataset's feature schema.
//!
//! This module does no I/O, no JSON decoding of raw lines (the importer owns line/column
//! positions), and knows nothing of storage, registries or scales.

pub mod pairs;
mod scan;
pub mod text_v1;
pub mod text_v2;

pub use pairs::{FieldIssue, PairOptions, TextPair, UserFeatures, parse_pair};

/// A built-in, versioned text feature map (`docs/features.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FeatureMap {
    /// `text-v1`: frozen; measures length twice (`log_chars`, `log_words`).
    TextV1,
    /// `text-v2`: one length feature; the default.
    #[default]
    TextV2,
}

/// A feature-map name that is not built in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown feature map '{0}' (available: {available})", available = FeatureMap::names().join(", "))]
pub struct UnknownFeatureMap(pub String);

impl FeatureMap {
    /// Every built-in map, oldest first.
    pub const ALL: [FeatureMap; 2] = [FeatureMap::TextV1, FeatureMap::TextV2];

    /// The stored name (`text-v1`, `text-v2`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            FeatureMap::TextV1 => text_v1::MAP_NAME,
            FeatureMap::TextV2 => text_v2::MAP_NAME,
        }
    }

    /// The names of every built-in map, oldest first.
    #[must_use]
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|m| m.name()).collect()
    }

    /// The map called `name`.
    pub fn from_name(name: &str) -> Result<FeatureMap, UnknownFeatureMap> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| UnknownFeatureMap(name.to_owned()))
    }

    /// The map's features, in the order `FeatureMap::features` returns them.
    #[must_use]
    pub fn feature_names(self) -> &'static [&'static str] {
        match self {
            FeatureMap::TextV1 => text_v1::FEATURE_NAMES,
            FeatureMap::TextV2 => text_v2::FEATURE_NAMES,
        }
    }

    /// The map's features of `response` to `prompt`, appended to `out`.
    pub fn features_into(self, prompt: &str, response: &str, out: &mut Vec<f64>) {
        match self {
            FeatureMap::TextV1 => out.extend_from_slice(&text_v1::features(prompt, response)),
            FeatureMap::TextV2 => out.extend_from_slice(&text_v2::features(prompt, response)),
        }
    }
}
