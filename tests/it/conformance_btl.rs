//! BTL fit and Fisher information against the reference results in `conformance/btl_*.json`
//! (tolerances from conformance/README.md "Recommended comparison tolerances"), plus property
//! tests of the fit, the eigen-decomposition and the information matrix.

use crate::support::btl_cases;

use btl_cases::{BtlCase, btl_case_paths, load_case};
use nalgebra::DMatrix;
use overlap::numerics::btl::{BtlError, FitOptions, fisher_information, fit_btl, standard_errors};
use overlap::numerics::eigen::{apply_sign_convention, sym_eigen};
use proptest::prelude::*;

const SEPARABLE_MESSAGE: &str = "the maximum-likelihood estimate does not exist: the labels are perfectly separable; use --ridge";

fn rel_close(actual: f64, expected: f64, tol: f64) -> bool {
    (actual - expected).abs() <= tol * expected.abs()
}

fn options(ridge: f64) -> FitOptions {
    FitOptions {
        ridge,
        ..FitOptions::default()
    }
}

/// All mismatches of one optimal instance (empty when it conforms).
fn check_optimal(case: &BtlCase) -> Vec<String> {
    let mut problems = Vec::new();
    let mut fail = |what: String| problems.push(format!("{}: {what}", case.id));
    let rows = case.rows();
    let e = &case.expected;
    let fit = match fit_btl(&rows, case.d, &case.labels, &options(case.ridge_lambda)) {
        Ok(fit) => fit,
        Err(err) => {
            fail(format!("fit failed: {err}"));
            return problems;
        }
    };

    // Bit-identical across runs and thread counts (the reduction order is fixed).
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map(|pool| {
            pool.install(|| fit_btl(&rows, case.d, &case.labels, &options(case.ridge_lambda)))
        });
    match single {
        Ok(Ok(again)) if again == fit => {}
        Ok(Ok(_)) => fail("single-threaded fit differs from the default pool".into()),
        other => fail(format!("single-threaded fit failed: {other:?}")),
    }

    let w_hat = e.w_hat.as_deref().unwrap_or_default();
    let w_scale = w_hat.iter().fold(1.0_f64, |m, x| m.max(x.abs()));
    let w_err = fit
        .w
        .iter()
        .zip(w_hat)
        .fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
    if fit.w.len() != case.d || w_err > 1e-6 * w_scale {
        fail(format!("w_hat off by {w_err:e} (scale {w_scale})"));
    }
    for (name, actual, expected) in [
        ("objective", fit.objective, e.objective),
        ("mean_nll", fit.mean_nll, e.mean_nll),
    ] {
        match expected {
            Some(x) if rel_close(actual, x, 1e-9) => {}
            _ => fail(format!("{name} {actual} vs {expected:?}")),
        }
    }

    let info = match fisher_information(&rows, case.d, &fit.w, case.fisher_lambda) {
        Ok(info) => info,
        Err(err) => {
            fail(format!("fisher failed: {err}"));
            return problems;
        }
    };
    let reference = e
        .fisher
        .as_ref()
        .map(|m| DMatrix::from_row_iterator(case.d, case.d, m.iter().flatten().copied()));
    match &reference {
        Some(r) if r.shape() == info.shape() => {
            let scale = r.abs().max();
            let err = (&info - r).abs().max();
            if err > 1e-8 * scale {
                fail(format!("fisher off by {err:e} (scale {scale:e})"));
            }
        }
        _ => fail("fisher missing or of the wrong shape".into()),
    }

    let eigen = match sym_eigen(&info) {
        Ok(eigen) => eigen,
        Err(err) => {
            fail(format!("eigen failed: {err}"));
            return problems;
        }
    };
    let values = e.fisher_eigenvalues.as_deref().unwrap_or_default();
    if values.len() != case.d {
        fail("fisher_eigenvalues missing".into());
    }
    for (k, (actual, expected)) in eigen.values.iter().zip(values).enumerate() {
        if !rel_close(*actual, *expected, 1e-6) {
            fail(format!("eigenvalue {k}: {actual} vs {expected}"));
        }
    }
    match e.lambda_min {
        Some(x) if rel_close(eigen.lambda_min(), x, 1e-6) => {}
        other => fail(format!("lambda_min {} vs {other:?}", eigen.lambda_min())),
    }
    match e.lambda_max {
        Some(x) if rel_close(eigen.lambda_max(), x, 1e-6) => {}
        other => fail(format!("lambda_max {} vs {other:?}", eigen.lambda_max())),
    }
    match (eigen.condition_number(), e.condition_number) {
        (Some(a), Some(x)) if rel_close(a, x, 1e-6) => {}
        other => fail(format!("condition number {other:?}")),
    }

    let v = eigen.min_vector();
    let v_ref = e.min_eigenvector.as_deref().unwrap_or_default();
    let dot: f64 = v.iter().zip(v_ref).map(|(a, b)| a * b).sum();
    if v_ref.len() != case.d || dot.abs() < 1.0 - 1e-8 {
        fail(format!("min eigenvector |<v, v_ref>| = {}", dot.abs()));
    }
    // README: the sign must match where the sign margin exceeds 1e-6 (it does in every file).
    if e.min_eigenvector_sign_margin.is_some_and(|m| m > 1e-6) {
        let index = e.min_eigenvector_sign_index.unwrap_or(usize::MAX);
        if dot < 0.0 || v.get(index).is_none_or(|x| *x <= 0.0) {
            fail(format!(
                "min eigenvector sign: <v, v_ref> = {dot}, v = {v:?}"
            ));
        }
    }

    if let Err(err) = standard_errors(&info, case.n) {
        fail(format!("standard errors failed: {err}"));
    }
    problems
}

fn check_separable(case: &BtlCase) -> Vec<String> {
    let mut problems = Vec::new();
    let rows = case.rows();
    match fit_btl(&rows, case.d, &case.labels, &options(0.0)) {
        Err(err @ BtlError::Separable) if err.to_string() == SEPARABLE_MESSAGE => {}
        other => problems.push(format!(
            "{}: expected the separable error, got {other:?}",
            case.id
        )),
    }
    // The ridge companion on the same data is well-posed: at the default ridge and at the
    // ridge files' smallest λ.
    for ridge in [1e-4, 1e-2] {
        match fit_btl(&rows, case.d, &case.labels, &options(ridge)) {
            Ok(fit) if fit.w.iter().all(|x| x.is_finite()) => {}
            other => problems.push(format!("{}: ridge {ridge} fit failed: {other:?}", case.id)),
        }
    }
    problems
}

#[test]
fn every_btl_instance_conforms() {
    let paths = btl_case_paths();
    assert!(
        !paths.is_empty(),
        "no btl_*.json in {}",
        btl_cases::CONFORMANCE_DIR
    );
    let mut problems = Vec::new();
    let mut separable = 0;
    for path in &paths {
        let case = load_case(path);
        match case.expected.status.as_str() {
            "optimal" => problems.extend(check_optimal(&case)),
            "separable" => {
                assert!(case.expected.separable);
                separable += 1;
                problems.extend(check_separable(&case));
            }
            other => problems.push(format!("{}: unknown status {other}", case.id)),
        }
    }
    assert!(separable >= 1, "no separable instance was checked");
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Property tests.

/// (d, rows, labels): rows uniform in [−3, 3], labels drawn from a BTL model with a random w.
fn btl_problem(max_d: usize) -> impl Strategy<Value = (usize, Vec<f64>, Vec<u8>)> {
    (1usize..=max_d, 8usize..=150).prop_flat_map(|(d, n)| {
        (
            Just(d),
            prop::collection::vec(-3.0f64..3.0, n * d),
            prop::collection::vec(-1.5f64..1.5, d),
            prop::collection::vec(0.0f64..1.0, n),
        )
            .prop_map(|(d, rows, w, uniforms)| {
                let labels = rows
                    .chunks_exact(d)
                    .zip(&uniforms)
                    .map(|(x, u)| {
                        let m: f64 = x.iter().zip(&w).map(|(a, b)| a * b).sum();
                        u8::from(*u < 1.0 / (1.0 + (-m).exp()))
                    })
                    .collect();
                (d, rows, labels)
            })
    })
}

/// ∇f(w), evaluated independently of the library (naive σ, no shared code).
fn naive_gradient(rows: &[f64], d: usize, labels: &[u8], w: &[f64], ridge: f64) -> Vec<f64> {
    let n = labels.len() as f64;
    let mut grad: Vec<f64> = w.iter().map(|x| ridge * x).collect();
    for (x, &l) in rows.chunks_exact(d).zip(labels) {
        let m: f64 = x.iter().zip(w).map(|(a, b)| a * b).sum();
        let p = 1.0 / (1.0 + (-m).exp());
        for (g, xi) in grad.iter_mut().zip(x) {
            *g += (p - f64::from(l)) * xi / n;
        }
    }
    grad
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn gradient_vanishes_at_the_optimum(
        (d, rows, labels) in btl_problem(5),
        ridge in prop::sample::select(vec![0.0, 1e-4, 1e-2, 1.0]),
    ) {
        match fit_btl(&rows, d, &labels, &options(ridge)) {
            Ok(fit) => {
                let g0 = norm(&naive_gradient(&rows, d, &labels, &vec![0.0; d], ridge));
                let g = norm(&naive_gradient(&rows, d, &labels, &fit.w, ridge));
                prop_assert!(g <= 1e-9 * g0.max(1.0), "gradient {g:e} at {:?}", fit.w);
                prop_assert!(fit.grad_norm <= 1e-10 * g0.max(1.0) * (1.0 + 1e-6));
            }
            // Small samples can be separable; that is only acceptable without a ridge.
            Err(BtlError::Separable | BtlError::QuasiSeparable { .. }) => prop_assert_eq!(ridge, 0.0),
            Err(err) => prop_assert!(false, "unexpected error {err}"),
        }
    }

    #[test]
    fn eigenpairs_satisfy_av_eq_lambda_v(
        (d, entries) in (1usize..=8).prop_flat_map(|d| (Just(d), prop::collection::vec(-10.0f64..10.0, d * d))),
        psd in any::<bool>(),
    ) {
        let b = DMatrix::from_row_slice(d, d, &entries);
        let a = if psd { &b * b.transpose() } else { (&b + b.transpose()) * 0.5 };
        let eigen = sym_eigen(&a).unwrap();
        let scale = a.norm().max(1.0);
        for k in 0..d {
            let v = eigen.vectors.column(k).into_owned();
            let residual = (&a * &v - &v * eigen.values[k]).norm();
            prop_assert!(residual <= 1e-12 * scale, "residual {residual:e} for k = {k}");
            prop_assert!((v.norm() - 1.0).abs() <= 1e-12);
            let mut signed: Vec<f64> = v.iter().copied().collect();
            apply_sign_convention(&mut signed);
            prop_assert_eq!(signed, v.iter().copied().collect::<Vec<_>>());
            if k > 0 {
                prop_assert!(eigen.values[k - 1] <= eigen.values[k]);
            }
        }
        let gram = eigen.vectors.transpose() * &eigen.vectors;
        prop_assert!((gram - DMatrix::identity(d, d)).abs().max() <= 1e-12);
    }

    #[test]
    fn swapping_sides_leaves_information_unchanged((d, rows, labels) in btl_problem(4)) {
        let ridge = 1e-3;
        let swapped_rows: Vec<f64> = rows.iter().map(|x| -x).collect();
        let swapped_labels: Vec<u8> = labels.iter().map(|l| 1 - l).collect();
        let fit = fit_btl(&rows, d, &labels, &options(ridge)).unwrap();
        let swapped = fit_btl(&swapped_rows, d, &swapped_labels, &options(ridge)).unwrap();
        let info = fisher_information(&rows, d, &fit.w, ridge).unwrap();
        let info_swapped = fisher_information(&swapped_rows, d, &swapped.w, ridge).unwrap();
        let err = (&info - &info_swapped).abs().max();
        prop_assert!(err <= 1e-12 * info.abs().max(), "information differs by {err:e}");
        let w_err = fit.w.iter().zip(&swapped.w).fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
        prop_assert!(w_err <= 1e-12 * norm(&fit.w).max(1.0));
    }

    #[test]
    fn duplicated_columns_are_unidentified(
        (d, rows, labels) in btl_problem(4),
        pick in any::<prop::sample::Index>(),
    ) {
        let column = pick.index(d);
        let wide: Vec<f64> = rows
            .chunks_exact(d)
            .flat_map(|x| x.iter().copied().chain(std::iter::once(x[column])))
            .collect();
        let fit = fit_btl(&wide, d + 1, &labels, &FitOptions::default()).unwrap();
        let info = fisher_information(&wide, d + 1, &fit.w, 0.0).unwrap();
        let eigen = sym_eigen(&info).unwrap();
        prop_assert!(eigen.lambda_min() <= 1e-12 * eigen.lambda_max());
        prop_assert!(!eigen.is_identified());
        prop_assert_eq!(eigen.condition_number(), None);
        // The null direction is (e_column − e_d)/√2.
        let v = eigen.min_vector();
        prop_assert!((v[column].abs() - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        prop_assert!((v[column] + v[d]).abs() < 1e-6);
        // Without a ridge the estimate is not unique (or does not exist): never a fit.
        prop_assert!(fit_btl(&wide, d + 1, &labels, &options(0.0)).is_err());
    }
}
