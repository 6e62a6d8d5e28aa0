//! End to end against every `design_*.json` conformance file: `overlap design --instance FILE
//! --format json` must give each problem's status, an objective within 1e-5 relative of the
//! reference (recomputed here from the returned π with a dense eigensolver) and a feasible π.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use nalgebra::DMatrix;
use serde_json::Value;

fn files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/conformance");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/data/conformance is in the repository")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("design_") && n.ends_with(".json"))
        })
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no design_*.json conformance files found"
    );
    files
}

fn matrices(inst: &Value) -> Vec<Vec<DMatrix<f64>>> {
    let d = inst["d"].as_u64().expect("d") as usize;
    let to_m = |m: &Value| DMatrix::from_fn(d, d, |i, j| m[i][j].as_f64().expect("entry"));
    match (inst.get("M"), inst.get("M_groups")) {
        (Some(m), _) if !m.is_null() => vec![m.as_array().expect("M").iter().map(to_m).collect()],
        (_, Some(g)) => g
            .as_array()
            .expect("groups")
            .iter()
            .map(|ms| ms.as_array().expect("arms").iter().map(to_m).collect())
            .collect(),
        _ => panic!("no matrices"),
    }
}

fn objective(criterion: &str, groups: &[Vec<DMatrix<f64>>], pi: &[f64]) -> f64 {
    let mix = |ms: &[DMatrix<f64>]| {
        let d = ms[0].nrows();
        ms.iter()
            .zip(pi)
            .fold(DMatrix::zeros(d, d), |acc, (m, p)| acc + m * *p)
    };
    let lmin = |x: DMatrix<f64>| x.symmetric_eigenvalues().min();
    match criterion {
        "E" => lmin(mix(&groups[0])),
        "E_robust" => groups
            .iter()
            .map(|g| lmin(mix(g)))
            .fold(f64::INFINITY, f64::min),
        "A" => mix(&groups[0]).try_inverse().expect("invertible").trace(),
        "D" => mix(&groups[0])
            .symmetric_eigenvalues()
            .iter()
            .map(|l| l.ln())
            .sum(),
        other => panic!("criterion {other}"),
    }
}

#[test]
fn every_design_file_end_to_end() {
    for path in files() {
        let inst: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        let out = Command::cargo_bin("overlap")
            .expect("binary")
            .args(["design", "--format", "json", "--instance"])
            .arg(&path)
            .output()
            .expect("run");
        let name = path.display();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Value = serde_json::from_slice(&out.stdout).expect("json");
        let groups = matrices(&inst);
        let costs: Vec<f64> = inst["costs"]
            .as_array()
            .expect("costs")
            .iter()
            .map(|c| c.as_f64().expect("cost"))
            .collect();
        for (problem, result) in inst["problems"]
            .as_array()
            .expect("problems")
            .iter()
            .zip(got["problems"].as_array().expect("problems"))
        {
            let id = problem["id"].as_str().expect("id");
            assert_eq!(result["id"], problem["id"], "{name}");
            let expected = &problem["expected"];
            assert_eq!(result["status"], expected["status"], "{name}:{id}");
            if expected["status"] != "optimal" {
                continue;
            }
            let pi: Vec<f64> = result["pi"]
                .as_array()
                .expect("pi")
                .iter()
                .map(|p| p.as_f64().expect("pi"))
                .collect();
            let min_mass: Vec<f64> = problem["min_mass"]
                .as_array()
                .map(|m| m.iter().map(|x| x.as_f64().expect("γ")).collect())
                .unwrap_or_else(|| vec![0.0; pi.len()]);
            assert!(
                (pi.iter().sum::<f64>() - 1.0).abs() <= 1e-9,
                "{name}:{id}: Σπ"
            );
            for (p, g) in pi.iter().zip(&min_mass) {
                assert!(*p >= g - 1e-9, "{name}:{id}: π below its minimum");
            }
            if let Some(b) = problem["budget"].as_f64() {
                let cost: f64 = pi.iter().zip(&costs).map(|(p, c)| p * c).sum();
                assert!(cost <= b + 1e-7, "{name}:{id}: cost {cost} over budget {b}");
            }
            let criterion = problem["criterion"].as_str().expect("criterion");
            let value = objective(criterion, &groups, &pi);
            let reference = expected["objective"].as_f64().expect("objective");
            assert!(
                (value - reference).abs() <= 1e-5 * reference.abs().max(1.0),
                "{name}:{id}: objective {value} vs {reference}"
            );
        }
    }
}
