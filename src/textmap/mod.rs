//! Text pairs and the built-in text feature maps (DESIGN.md §3 "Text pairs").
//!
//! Owns two pure steps of importing `{"prompt", "chosen", "rejected"}`-style data: [`parse_pair`]
//! turns one already-decoded JSON object into a [`TextPair`] (or every [`FieldIssue`] of that line),
//! and a versioned feature map ([`text_v1`]) turns each response into interpretable proxies φ(x, y).
//! The importer computes `text_v1::features(&pair.prompt, &pair.response_a)` minus the same for
//! `response_b` to get Δφ, and records [`text_v1::MAP_NAME`] and [`text_v1::FEATURE_NAMES`] as the
//! dataset's feature schema.
//!
//! This module does no I/O, no JSON decoding of raw lines (the importer owns line/column
//! positions), and knows nothing of storage, registries or scales.

pub mod pairs;
mod scan;
pub mod text_v1;

pub use pairs::{FieldIssue, PairOptions, TextPair, parse_pair};
