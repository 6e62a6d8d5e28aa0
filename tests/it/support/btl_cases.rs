//! Loader for the BTL conformance instances (`conformance/btl_*.json`, schema refsuite/btl/v1),
//! shared by `tests/it/conformance_btl.rs` and `benches/btl.rs` through `#[path]`.

// Each includer reads a different subset of the fields (the bench only the timings, the test
// only the expectations), so unused-field warnings here are expected per target.
#![allow(dead_code)]

use serde::Deserialize;
use std::path::{Path, PathBuf};

pub(crate) const CONFORMANCE_DIR: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/conformance");

#[derive(Debug, Deserialize)]
pub(crate) struct BtlCase {
    pub id: String,
    #[serde(rename = "N")]
    pub n: usize,
    pub d: usize,
    pub ridge_lambda: f64,
    pub fisher_lambda: f64,
    pub dphi: Vec<Vec<f64>>,
    pub labels: Vec<u8>,
    pub expected: Expected,
    pub timing: Timing,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Expected {
    pub status: String,
    pub separable: bool,
    pub w_hat: Option<Vec<f64>>,
    pub objective: Option<f64>,
    pub mean_nll: Option<f64>,
    pub fisher: Option<Vec<Vec<f64>>>,
    pub fisher_eigenvalues: Option<Vec<f64>>,
    pub lambda_min: Option<f64>,
    pub lambda_max: Option<f64>,
    pub condition_number: Option<f64>,
    pub min_eigenvector: Option<Vec<f64>>,
    pub min_eigenvector_sign_index: Option<usize>,
    pub min_eigenvector_sign_margin: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Timing {
    pub statsmodels_s: Option<f64>,
    pub newton_numpy_s: Option<f64>,
}

impl BtlCase {
    /// Δφ as the flat row-major slice the numerics take.
    pub(crate) fn rows(&self) -> Vec<f64> {
        self.dphi.iter().flatten().copied().collect()
    }
}

/// Every `btl_*.json` in the conformance folder, sorted by file name.
pub(crate) fn btl_case_paths() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(CONFORMANCE_DIR)
        .unwrap_or_else(|e| panic!("cannot read {CONFORMANCE_DIR}: {e}"))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("btl_") && n.ends_with(".json"))
        })
        .collect();
    paths.sort();
    paths
}

pub(crate) fn load_case(path: &Path) -> BtlCase {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let case: BtlCase = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()));
    assert_eq!(case.dphi.len(), case.n, "{}: N", case.id);
    assert!(
        case.dphi.iter().all(|r| r.len() == case.d),
        "{}: d",
        case.id
    );
    case
}
