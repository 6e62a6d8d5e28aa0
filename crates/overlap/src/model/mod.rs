//! Domain types and identifiers: datasets, comparisons, interventions, arms, analysis results.
//!
//! Plain values with validation of their own invariants (names, versions, finiteness). No I/O and no
//! SQL here: `storage` persists these types, `ingest` builds them from files, `analysis` reads them.

pub mod analysis;
pub mod dataset;
pub mod digest;
pub mod ids;
pub mod intervention;
pub mod named;
pub mod number;

pub use dataset::{Arm, Comparison, FeatureSchema, FeatureValues, ScaleSource, Side, VersionInfo};
pub use ids::{DatasetRef, Name, NameError};
pub use intervention::{AcceptanceObservation, Intervention, InterventionSpec};
