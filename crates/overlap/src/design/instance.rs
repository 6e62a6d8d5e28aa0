//! Design instance files (`refsuite/design/v1`, the conformance format): information matrices
//! estimated anywhere, solved by `overlap design --instance FILE`.

use nalgebra::DMatrix;
use serde::Deserialize;

use crate::numerics::optimal_design::{Criterion, DesignProblem};

/// A parsed instance: arm names and the problems posed on them.
#[derive(Debug, Clone)]
pub struct Instance {
    pub id: String,
    pub names: Vec<String>,
    pub problems: Vec<(String, DesignProblem)>,
}

#[derive(Debug, Deserialize)]
struct RawInstance {
    id: Option<String>,
    d: usize,
    names: Vec<String>,
    costs: Vec<f64>,
    #[serde(rename = "M")]
    m: Option<Vec<Vec<Vec<f64>>>>,
    #[serde(rename = "M_groups")]
    m_groups: Option<Vec<Vec<Vec<Vec<f64>>>>>,
    problems: Vec<RawProblem>,
}

#[derive(Debug, Deserialize)]
struct RawProblem {
    id: String,
    criterion: String,
    budget: Option<f64>,
    min_mass: Option<Vec<f64>>,
}

fn matrix(rows: &[Vec<f64>], d: usize, what: &str) -> Result<DMatrix<f64>, String> {
    if rows.len() != d || rows.iter().any(|r| r.len() != d) {
        return Err(format!("{what}: expected a {d}×{d} matrix"));
    }
    Ok(DMatrix::from_fn(d, d, |i, j| rows[i][j]))
}

/// Parses an instance file's text. Every structural problem is an error naming the field.
pub fn parse_instance(text: &str) -> Result<Instance, String> {
    let raw: RawInstance =
        serde_json::from_str(text).map_err(|e| format!("not a design instance: {e}"))?;
    let a = raw.names.len();
    if a == 0 {
        return Err("names: expected at least one arm".into());
    }
    if raw.costs.len() != a {
        return Err(format!(
            "costs: expected {a} values (one per name), found {}",
            raw.costs.len()
        ));
    }
    let groups: Vec<Vec<DMatrix<f64>>> = match (&raw.m, &raw.m_groups) {
        (Some(m), None) => {
            if m.len() != a {
                return Err(format!("M: expected {a} matrices, found {}", m.len()));
            }
            vec![
                m.iter()
                    .enumerate()
                    .map(|(i, x)| matrix(x, raw.d, &format!("M[{i}]")))
                    .collect::<Result<_, _>>()?,
            ]
        }
        (None, Some(mg)) => mg
            .iter()
            .enumerate()
            .map(|(g, ms)| {
                if ms.len() != a {
                    return Err(format!(
                        "M_groups[{g}]: expected {a} matrices, found {}",
                        ms.len()
                    ));
                }
                ms.iter()
                    .enumerate()
                    .map(|(i, x)| matrix(x, raw.d, &format!("M_groups[{g}][{i}]")))
                    .collect()
            })
            .collect::<Result<_, _>>()?,
        _ => return Err("expected exactly one of M (one group) or M_groups".into()),
    };
    let mut problems = Vec::with_capacity(raw.problems.len());
    for p in raw.problems {
        let criterion = match p.criterion.as_str() {
            "E" => Criterion::E,
            "A" => Criterion::A,
            "D" => Criterion::D,
            "E_robust" => Criterion::ERobust,
            other => {
                return Err(format!(
                    "problem {}: criterion '{other}' (expected E, A, D or E_robust)",
                    p.id
                ));
            }
        };
        if let Some(m) = &p.min_mass {
            if m.len() != a {
                return Err(format!("problem {}: min_mass needs {a} values", p.id));
            }
        }
        let matrices = if criterion == Criterion::ERobust || groups.len() == 1 {
            groups.clone()
        } else {
            return Err(format!(
                "problem {}: criterion {} needs one group (M), the file has {}",
                p.id,
                p.criterion,
                groups.len()
            ));
        };
        problems.push((
            p.id,
            DesignProblem {
                matrices,
                costs: raw.costs.clone(),
                budget: p.budget,
                min_mass: p.min_mass,
                criterion,
            },
        ));
    }
    Ok(Instance {
        id: raw.id.unwrap_or_default(),
        names: raw.names,
        problems,
    })
}
