//! End to end against every `btl_*.json` conformance file: the instance's Δφ is imported as delta
//! records with `--scales unit`, and `overlap analyze --ridge λ --info-ridge λ --format json` must
//! reproduce the reference fit and Fisher spectrum within the conformance README's tolerances.

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/conformance")
}

fn overlap(db: &Path) -> Command {
    let mut cmd = Command::cargo_bin("overlap").expect("binary");
    cmd.arg("--db").arg(db).env("OVERLAP_ACTOR", "conformance");
    cmd
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn rel_close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(f64::MIN_POSITIVE)
}

#[test]
fn every_btl_file_end_to_end() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(conformance_dir())
        .expect("tests/data/conformance is in the repository")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("btl_") && n.ends_with(".json"))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no btl_*.json conformance files found");
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("c.db");
    overlap(&db).arg("init").assert().success();
    for (k, path) in files.iter().enumerate() {
        let inst: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
        let id = inst["id"].as_str().expect("id");
        let d = inst["d"].as_u64().expect("d") as usize;
        let names: Vec<String> = (0..d).map(|j| format!("f{j:02}")).collect();
        let data = tmp.path().join(format!("{id}.jsonl"));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&data).expect("create"));
        for (t, (row, label)) in inst["dphi"]
            .as_array()
            .expect("dphi")
            .iter()
            .zip(inst["labels"].as_array().expect("labels"))
            .enumerate()
        {
            let delta: serde_json::Map<String, Value> = names
                .iter()
                .cloned()
                .zip(row.as_array().expect("row").iter().cloned())
                .collect();
            let rec = serde_json::json!({"id": format!("t{t}"), "delta": delta, "label": label});
            writeln!(f, "{rec}").expect("write");
        }
        drop(f);
        let name = format!("c{k}");
        overlap(&db)
            .args(["dataset", "import", &name])
            .arg(&data)
            .args(["--scales", "unit"])
            .assert()
            .success();
        let ridge = inst["ridge_lambda"].as_f64().expect("ridge");
        let info = inst["fisher_lambda"].as_f64().expect("fisher");
        let out = overlap(&db)
            .args(["analyze", &name, "--format", "json"])
            .args([
                "--ridge",
                &ridge.to_string(),
                "--info-ridge",
                &info.to_string(),
            ])
            .output()
            .expect("run");
        let exp = &inst["expected"];
        if exp["status"] == "separable" {
            assert_eq!(out.status.code(), Some(2), "{id}: separable data must fail");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains("does not exist") && err.contains("--ridge"),
                "{id}: {err}"
            );
            continue;
        }
        assert!(
            out.status.success(),
            "{id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Value = serde_json::from_slice(&out.stdout).expect("analysis json");
        let w_ref = f64s(&exp["w_hat"]);
        let w: Vec<f64> = names
            .iter()
            .map(|n| got["fit"]["w"][n].as_f64().expect("w"))
            .collect();
        let scale = w_ref.iter().fold(1.0f64, |m, x| m.max(x.abs()));
        for (a, b) in w.iter().zip(&w_ref) {
            assert!((a - b).abs() <= 1e-6 * scale, "{id}: w {w:?} vs {w_ref:?}");
        }
        let objective = got["fit"]["objective"].as_f64().expect("objective");
        assert!(
            rel_close(objective, exp["objective"].as_f64().expect("obj"), 1e-9),
            "{id}: objective {objective}"
        );
        let b = &got["buckets"][0];
        let eig = f64s(&b["eigenvalues"]);
        for (a, r) in eig.iter().zip(f64s(&exp["fisher_eigenvalues"])) {
            assert!(rel_close(*a, r, 1e-6), "{id}: eigenvalues {eig:?}");
        }
        for key in ["lambda_min", "lambda_max", "condition_number"] {
            let a = b[key].as_f64().expect(key);
            assert!(
                rel_close(a, exp[key].as_f64().expect(key), 1e-6),
                "{id}: {key} {a}"
            );
        }
        let v: Vec<f64> = names
            .iter()
            .map(|n| b["weakest_direction"][n].as_f64().expect("v"))
            .collect();
        let v_ref = f64s(&exp["min_eigenvector"]);
        let dot: f64 = v.iter().zip(&v_ref).map(|(a, b)| a * b).sum();
        // Same direction and the same sign (every file's sign margin exceeds 1e-6).
        assert!(
            dot >= 1.0 - 1e-8,
            "{id}: weakest direction {v:?} vs {v_ref:?}"
        );
        assert_eq!(b["unidentified"], false, "{id}");
    }
}
