//! Loading the `design_*.json` conformance files (schema `refsuite/design/v1`) into
//! [`DesignProblem`]s. Shared by `tests/it/conformance_design.rs` and `benches/design.rs`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use nalgebra::DMatrix;
use overlap::numerics::optimal_design::{Criterion, DesignProblem};
use serde::Deserialize;

pub(crate) const CONFORMANCE_DIR: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/conformance");

#[derive(Debug, Deserialize)]
pub(crate) struct DesignFile {
    pub id: String,
    pub family: String,
    pub d: usize,
    pub n_groups: usize,
    pub names: Vec<String>,
    pub costs: Vec<f64>,
    #[serde(rename = "M")]
    pub m: Option<Vec<Vec<Vec<f64>>>>,
    #[serde(rename = "M_groups")]
    pub m_groups: Option<Vec<Vec<Vec<Vec<f64>>>>>,
    pub rho: Option<serde_json::Value>,
    pub theta_arms: Option<ThetaArms>,
    pub problems: Vec<FileProblem>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ThetaArms {
    pub plus: String,
    pub minus: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FileProblem {
    pub id: String,
    pub criterion: String,
    pub budget: Option<f64>,
    pub min_mass: Option<Vec<f64>>,
    pub closed_form: Option<ClosedForm>,
    pub expected: Expected,
    pub timing: Option<Timing>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ClosedForm {
    pub status: String,
    pub objective: Option<f64>,
    pub pi_unique: Option<bool>,
    pub theta_star: Option<f64>,
    pub theta_feasible_interval: Option<Vec<f64>>,
    pub theta_opt: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Expected {
    pub status: String,
    pub objective: Option<f64>,
    pub pi: Option<Vec<f64>>,
    pub pi_unique: Option<bool>,
    pub info_matrix_unique: Option<bool>,
    pub uniqueness_test: Option<UniquenessTest>,
    pub info_eigenvalues: Option<Vec<f64>>,
    pub group_info_eigenvalues: Option<Vec<Vec<f64>>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct UniquenessTest {
    pub pi_face_width: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Timing {
    pub clarabel: Option<SolverTiming>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SolverTiming {
    pub wall_s: Option<f64>,
}

/// Every `design_*.json` file in the conformance folder, sorted by name.
pub(crate) fn design_files() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(CONFORMANCE_DIR)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("design_") && n.ends_with(".json"))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

pub(crate) fn load(path: &Path) -> DesignFile {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn matrix(rows: &[Vec<f64>]) -> DMatrix<f64> {
    let d = rows.len();
    DMatrix::from_fn(d, d, |i, j| rows[i][j])
}

pub(crate) fn criterion(name: &str) -> Criterion {
    match name {
        "E" => Criterion::E,
        "A" => Criterion::A,
        "D" => Criterion::D,
        "E_robust" => Criterion::ERobust,
        other => panic!("unknown criterion {other}"),
    }
}

/// The matrices of a file as `[group][arm]`.
pub(crate) fn matrices(file: &DesignFile) -> Vec<Vec<DMatrix<f64>>> {
    if let Some(groups) = &file.m_groups {
        groups
            .iter()
            .map(|g| g.iter().map(|m| matrix(m)).collect())
            .collect()
    } else {
        let m = file.m.as_ref().expect("file has neither M nor M_groups");
        vec![m.iter().map(|m| matrix(m)).collect()]
    }
}

pub(crate) fn problem(file: &DesignFile, p: &FileProblem) -> DesignProblem {
    DesignProblem {
        matrices: matrices(file),
        costs: file.costs.clone(),
        budget: p.budget,
        min_mass: p.min_mass.clone(),
        criterion: criterion(&p.criterion),
    }
}
