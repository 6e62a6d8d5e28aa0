//! Conformance of the design solver against every `design_*.json` reference file (cvxpy with
//! Clarabel and SCS, exact LP feasibility, closed forms), with the tolerances of
//! `tests/data/conformance/README.md`, plus property tests of the solver's guarantees.

use crate::support::design_files;

use nalgebra::DMatrix;
use overlap::numerics::optimal_design::{
    Criterion, DesignOutcome, DesignProblem, DesignSolution, SolverOptions, criterion_value,
    solve_design,
};
use proptest::prelude::*;

/// Objective recomputed independently of the crate: nalgebra's SymmetricEigen (E-type) and
/// Cholesky (A: tr X⁻¹ from the inverse, D: 2 Σ log L_ii).
fn independent_objective(criterion: Criterion, matrices: &[Vec<DMatrix<f64>>], pi: &[f64]) -> f64 {
    let mix = |group: &[DMatrix<f64>]| {
        let d = group[0].nrows();
        let mut x = DMatrix::zeros(d, d);
        for (m, &p) in group.iter().zip(pi) {
            x += m * p;
        }
        (&x + x.transpose()) * 0.5
    };
    match criterion {
        Criterion::E | Criterion::ERobust => matrices
            .iter()
            .map(|g| {
                mix(g)
                    .symmetric_eigen()
                    .eigenvalues
                    .iter()
                    .fold(f64::INFINITY, |a, &b| a.min(b))
            })
            .fold(f64::INFINITY, f64::min),
        Criterion::A => {
            let c = mix(&matrices[0])
                .cholesky()
                .expect("X(π) positive definite");
            c.inverse().trace()
        }
        Criterion::D => {
            let c = mix(&matrices[0])
                .cholesky()
                .expect("X(π) positive definite");
            2.0 * c.l().diagonal().iter().map(|v| v.ln()).sum::<f64>()
        }
    }
}

fn assert_feasible(problem: &DesignProblem, sol: &DesignSolution, label: &str) {
    let sum: f64 = sol.pi.iter().sum();
    assert!((sum - 1.0).abs() <= 1e-9, "{label}: Σπ = {sum}");
    let gamma = problem.min_mass.clone().unwrap_or(vec![0.0; sol.pi.len()]);
    for (a, (&p, &g)) in sol.pi.iter().zip(&gamma).enumerate() {
        assert!(p >= g - 1e-9, "{label}: π[{a}] = {p} below min mass {g}");
    }
    let cost: f64 = sol.pi.iter().zip(&problem.costs).map(|(p, c)| p * c).sum();
    if let Some(b) = problem.budget {
        assert!(cost <= b + 1e-7, "{label}: cost {cost} above budget {b}");
    }
    assert!(
        (cost - sol.cost).abs() <= 1e-12 * cost.abs().max(1.0),
        "{label}: reported cost"
    );
}

/// The feasible interval of θ (weight on the `plus` arm) in a two-arm closed-form file.
fn theta_interval(
    costs: &[f64],
    plus: usize,
    minus: usize,
    problem: &design_files::FileProblem,
) -> (f64, f64) {
    let gamma = problem.min_mass.clone().unwrap_or(vec![0.0; costs.len()]);
    let mut lo = gamma[plus];
    let mut hi = 1.0 - gamma[minus];
    if let Some(b) = problem.budget {
        // θ c₊ + (1 − θ) c₋ ≤ b.
        let (cp, cm) = (costs[plus], costs[minus]);
        if cp < cm {
            lo = lo.max((cm - b) / (cm - cp));
        } else if cp > cm {
            hi = hi.min((b - cm) / (cp - cm));
        }
    }
    (lo, hi)
}

#[test]
fn every_design_file_conforms() {
    let files = design_files::design_files();
    assert!(
        !files.is_empty(),
        "no design_*.json files in {}",
        design_files::CONFORMANCE_DIR
    );
    let opts = SolverOptions::default();
    let mut checked = 0;
    let mut pi_checked = 0;
    for path in &files {
        let file = design_files::load(path);
        let matrices = design_files::matrices(&file);
        for p in &file.problems {
            let label = format!("{}:{}", file.id, p.id);
            let problem = design_files::problem(&file, p);
            let outcome = solve_design(&problem, &opts).unwrap_or_else(|e| panic!("{label}: {e}"));
            let expected = &p.expected;
            match (&outcome, expected.status.as_str()) {
                (DesignOutcome::Infeasible { cheapest_cost, .. }, "infeasible") => {
                    // The reported cheapest cost must be feasible-on-the-boundary and above the budget.
                    if let (Some(c), Some(b)) = (cheapest_cost, problem.budget) {
                        assert!(*c > b, "{label}: cheapest cost {c} not above budget {b}");
                    }
                    checked += 1;
                    continue;
                }
                (DesignOutcome::Optimal(_), "optimal") => {}
                (o, s) => panic!(
                    "{label}: status {:?} but expected {s}",
                    matches!(o, DesignOutcome::Optimal(_))
                ),
            }
            let DesignOutcome::Optimal(sol) = outcome else {
                unreachable!()
            };
            assert_feasible(&problem, &sol, &label);

            // Objective, recomputed from π independently.
            let want = expected
                .objective
                .expect("optimal problem has an objective");
            let got = independent_objective(problem.criterion, &matrices, &sol.pi);
            let tol = 1e-5 * want.abs().max(1.0);
            assert!(
                (got - want).abs() <= tol,
                "{label}: objective {got} vs expected {want}"
            );
            assert!(
                (sol.objective - got).abs() <= 1e-9 * got.abs().max(1.0),
                "{label}: reported objective"
            );
            let via_api =
                criterion_value(problem.criterion, &matrices, &sol.pi).expect("criterion value");
            assert!(
                (via_api - got).abs() <= 1e-9 * got.abs().max(1.0),
                "{label}: criterion_value"
            );
            assert!(
                sol.gap >= 0.0 && sol.gap <= opts.tol * sol.objective.abs().max(1.0),
                "{label}: gap {}",
                sol.gap
            );

            // π where the optimum is unique.
            if expected.pi_unique == Some(true) {
                let want_pi = expected.pi.as_ref().expect("unique π given");
                let width = expected
                    .uniqueness_test
                    .as_ref()
                    .and_then(|u| u.pi_face_width)
                    .unwrap_or(0.0);
                let tol = (2.0 * width).max(1e-3);
                for (a, (x, y)) in sol.pi.iter().zip(want_pi).enumerate() {
                    assert!(
                        (x - y).abs() <= tol,
                        "{label}: π[{a}] = {x} vs {y} (tol {tol})"
                    );
                }
                pi_checked += 1;
            }

            // Information eigenvalues where X(π*) is unique.
            if expected.info_matrix_unique == Some(true) {
                let groups: Vec<Vec<f64>> =
                    match (&expected.info_eigenvalues, &expected.group_info_eigenvalues) {
                        (_, Some(g)) => g.clone(),
                        (Some(e), None) => vec![e.clone()],
                        (None, None) => Vec::new(),
                    };
                for (g, want_eig) in groups.iter().enumerate() {
                    let got_eig = &sol.info_eigenvalues[g];
                    let top = want_eig.iter().fold(1.0f64, |m, v| m.max(v.abs()));
                    for (k, (x, y)) in got_eig.iter().zip(want_eig).enumerate() {
                        assert!(
                            (x - y).abs() <= 1e-4 * top,
                            "{label}: eigenvalue {g}/{k}: {x} vs {y}"
                        );
                    }
                }
            }

            // E-type certificate vectors: unit eigenvectors of X_g(π) at the optimum value.
            if matches!(problem.criterion, Criterion::E | Criterion::ERobust) {
                assert!(!sol.certificate.is_empty(), "{label}: no certificate");
                for (v, &g) in sol.certificate.iter().zip(&sol.certificate_groups) {
                    let norm: f64 = v.iter().map(|x| x * x).sum::<f64>().sqrt();
                    assert!((norm - 1.0).abs() < 1e-9, "{label}: certificate not unit");
                    let x = &sol.info_eigenvalues[g];
                    assert!(
                        x[0] <= sol.objective + 1e-6 * sol.objective.abs().max(1.0),
                        "{label}: group {g}"
                    );
                }
            }

            // Closed-form two-factor files: θ* = −ρ₋/(ρ₊ − ρ₋) clipped to the feasible interval.
            if let (Some(arms), Some(cf)) = (&file.theta_arms, &p.closed_form) {
                let plus = file
                    .names
                    .iter()
                    .position(|n| *n == arms.plus)
                    .expect("plus arm");
                let minus = file
                    .names
                    .iter()
                    .position(|n| *n == arms.minus)
                    .expect("minus arm");
                let rho: Vec<f64> =
                    serde_json::from_value(file.rho.clone().expect("rho")).expect("rho list");
                let (rp, rm) = (rho[plus], rho[minus]);
                let theta_star = -rm / (rp - rm);
                let (lo, hi) = theta_interval(&file.costs, plus, minus, p);
                let theta_opt = theta_star.clamp(lo, hi);
                if let Some(ts) = cf.theta_star {
                    assert!((ts - theta_star).abs() < 1e-12, "{label}: θ* formula");
                }
                if let Some(to) = cf.theta_opt {
                    assert!((to - theta_opt).abs() < 1e-9, "{label}: clipped θ vs file");
                }
                if cf.pi_unique == Some(true) {
                    assert!(
                        (sol.pi[plus] - theta_opt).abs() < 1e-4,
                        "{label}: θ = {} vs closed form {theta_opt}",
                        sol.pi[plus]
                    );
                }
                if let Some(obj) = cf.objective {
                    assert!(
                        (got - obj).abs() <= 1e-6 * obj.abs().max(1.0),
                        "{label}: closed-form objective"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 0 && pi_checked > 0);
}

/// A small random design problem: k arms of rank ≤ 2 in dimension d (plus the identity spread
/// over the arms so that the A and D criteria stay finite), random costs, min masses and budget.
fn arb_problem() -> impl Strategy<Value = DesignProblem> {
    (2usize..=4, 2usize..=6, 0usize..4, any::<u64>()).prop_map(|(d, k, crit, seed)| {
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let matrices: Vec<DMatrix<f64>> = (0..k)
            .map(|_| {
                let v = DMatrix::from_fn(d, 2, |_, _| next() * 2.0 - 1.0);
                &v * v.transpose() + DMatrix::identity(d, d) * (0.05 / k as f64)
            })
            .collect();
        let costs: Vec<f64> = (0..k).map(|_| 0.5 + next() * 2.0).collect();
        let gamma: Vec<f64> = (0..k).map(|_| next() * 0.3 / k as f64).collect();
        let c_min = costs.iter().fold(f64::INFINITY, |m, &c| m.min(c));
        let cheapest = gamma.iter().zip(&costs).map(|(g, c)| g * c).sum::<f64>()
            + (1.0 - gamma.iter().sum::<f64>()) * c_min;
        let with_gamma = next() < 0.5;
        let budget = if next() < 0.5 {
            None
        } else if with_gamma {
            Some(cheapest + next() * 1.5)
        } else {
            Some(c_min + next() * 1.5)
        };
        let criterion = [Criterion::E, Criterion::A, Criterion::D, Criterion::ERobust][crit];
        let groups = if criterion == Criterion::ERobust {
            vec![matrices.clone(), matrices.iter().rev().cloned().collect()]
        } else {
            vec![matrices]
        };
        DesignProblem {
            matrices: groups,
            costs,
            budget,
            min_mass: if with_gamma { Some(gamma) } else { None },
            criterion,
        }
    })
}

fn better_or_equal(criterion: Criterion, a: f64, b: f64, slack: f64) -> bool {
    if criterion.maximizes() {
        a >= b - slack
    } else {
        a <= b + slack
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/proptest-regressions/conformance_design.txt"),
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn solutions_are_feasible_and_beat_single_arms(problem in arb_problem()) {
        let opts = SolverOptions::default();
        let DesignOutcome::Optimal(sol) = solve_design(&problem, &opts).expect("solve") else {
            // Random budgets are drawn at or above the cheapest cost.
            return Err(TestCaseError::fail("unexpectedly infeasible"));
        };
        assert_feasible(&problem, &sol, "proptest");
        let k = problem.costs.len();
        let gamma = problem.min_mass.clone().unwrap_or(vec![0.0; k]);
        let free = 1.0 - gamma.iter().sum::<f64>();
        let slack = 1e-7 * sol.objective.abs().max(1.0);
        // Every feasible "single-arm" design: the min masses plus all free mass on one arm.
        for a in 0..k {
            let mut pi = gamma.clone();
            pi[a] += free;
            let cost: f64 = pi.iter().zip(&problem.costs).map(|(p, c)| p * c).sum();
            if problem.budget.is_some_and(|b| cost > b) {
                continue;
            }
            let value = criterion_value(problem.criterion, &problem.matrices, &pi).expect("value");
            prop_assert!(better_or_equal(problem.criterion, sol.objective, value, slack),
                "arm {a}: {value} beats the optimum {}", sol.objective);
        }
    }

    #[test]
    fn more_budget_never_hurts(problem in arb_problem(), extra in 0.0f64..1.0) {
        let opts = SolverOptions::default();
        let Some(budget) = problem.budget else { return Ok(()); };
        let richer = DesignProblem { budget: Some(budget + extra), ..problem.clone() };
        let (DesignOutcome::Optimal(a), DesignOutcome::Optimal(b)) =
            (solve_design(&problem, &opts).expect("solve"), solve_design(&richer, &opts).expect("solve"))
        else {
            return Err(TestCaseError::fail("unexpectedly infeasible"));
        };
        let slack = 2.0 * opts.tol * a.objective.abs().max(1.0) + a.gap + b.gap;
        prop_assert!(better_or_equal(problem.criterion, b.objective, a.objective, slack),
            "budget {} -> {}: {} vs {}", budget, budget + extra, a.objective, b.objective);
    }
}

#[test]
fn invalid_inputs_are_errors() {
    let good = DMatrix::identity(2, 2);
    let base = DesignProblem {
        matrices: vec![vec![good.clone(), good.clone()]],
        costs: vec![1.0, 1.0],
        budget: None,
        min_mass: None,
        criterion: Criterion::E,
    };
    let opts = SolverOptions::default();
    let mut p = base.clone();
    p.matrices[0][1] = DMatrix::from_row_slice(2, 2, &[1.0, f64::NAN, f64::NAN, 1.0]);
    assert!(solve_design(&p, &opts).is_err());
    let mut p = base.clone();
    p.matrices[0][1] = DMatrix::from_row_slice(2, 2, &[1.0, 0.5, 0.0, 1.0]);
    assert!(solve_design(&p, &opts).is_err());
    let mut p = base.clone();
    p.matrices[0][1] = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
    assert!(solve_design(&p, &opts).is_err());
    let mut p = base.clone();
    p.costs = vec![1.0];
    assert!(solve_design(&p, &opts).is_err());
    let mut p = base.clone();
    p.budget = Some(f64::INFINITY);
    assert!(solve_design(&p, &opts).is_err());
    assert!(
        solve_design(
            &base,
            &SolverOptions {
                tol: 0.0,
                max_iterations: 10
            }
        )
        .is_err()
    );
}

#[test]
fn singular_information_is_reported() {
    // Three rank-one arms in d = 4: λ_min is 0 at every mixture.
    let arm = |v: [f64; 4]| {
        let v = nalgebra::DVector::from_row_slice(&v);
        &v * v.transpose()
    };
    let matrices = vec![vec![
        arm([1.0, 0.0, 0.0, 0.0]),
        arm([0.0, 1.0, 1.0, 0.0]),
        arm([1.0, 1.0, 0.0, 0.0]),
    ]];
    let mut problem = DesignProblem {
        matrices,
        costs: vec![1.0, 2.0, 3.0],
        budget: Some(2.0),
        min_mass: None,
        criterion: Criterion::E,
    };
    let opts = SolverOptions::default();
    let DesignOutcome::Optimal(sol) = solve_design(&problem, &opts).expect("e solves") else {
        panic!("feasible");
    };
    assert!(sol.objective.abs() < 1e-12 && sol.gap < 1e-12);
    assert!(
        sol.certificate.iter().any(|v| v[3].abs() > 0.99),
        "the null direction e₃ certifies"
    );
    for criterion in [Criterion::A, Criterion::D] {
        problem.criterion = criterion;
        assert!(matches!(
            solve_design(&problem, &opts),
            Err(overlap::numerics::optimal_design::DesignError::Singular {
                rank: 3,
                dim: 4,
                ..
            })
        ));
    }
}

#[test]
fn duplicate_arms_and_point_polytopes() {
    let m = DMatrix::from_row_slice(2, 2, &[2.0, 0.5, 0.5, 1.0]);
    let n = DMatrix::from_row_slice(2, 2, &[1.0, -0.5, -0.5, 2.0]);
    let problem = DesignProblem {
        matrices: vec![vec![m.clone(), m.clone(), n.clone()]],
        costs: vec![1.0, 1.0, 1.0],
        budget: None,
        min_mass: Some(vec![0.5, 0.25, 0.25]),
        criterion: Criterion::D,
    };
    let DesignOutcome::Optimal(sol) =
        solve_design(&problem, &SolverOptions::default()).expect("solve")
    else {
        panic!("feasible");
    };
    assert_eq!(sol.pi, vec![0.5, 0.25, 0.25]);
    assert_eq!(sol.gap, 0.0);
    let problem = DesignProblem {
        min_mass: None,
        criterion: Criterion::E,
        ..problem
    };
    let DesignOutcome::Optimal(sol) =
        solve_design(&problem, &SolverOptions::default()).expect("solve")
    else {
        panic!("feasible");
    };
    // The two copies of m share their mass; the optimum puts half on m's copies, half on n.
    assert!((sol.pi[0] + sol.pi[1] - 0.5).abs() < 1e-3, "{:?}", sol.pi);
}

#[test]
fn edge_cases_are_handled() {
    let opts = SolverOptions::default();
    let m1 = DMatrix::from_row_slice(2, 2, &[2.0, 0.3, 0.3, 1.0]);
    let m2 = DMatrix::from_row_slice(2, 2, &[1.0, -0.2, -0.2, 2.5]);
    let optimal = |p: &DesignProblem| match solve_design(p, &opts) {
        Ok(DesignOutcome::Optimal(s)) => s,
        other => panic!("expected an optimum, got {other:?}"),
    };
    // One arm: π = (1) for every criterion.
    for criterion in [Criterion::E, Criterion::A, Criterion::D, Criterion::ERobust] {
        let p = DesignProblem {
            matrices: vec![vec![m1.clone()]],
            costs: vec![2.0],
            budget: Some(2.0),
            min_mass: None,
            criterion,
        };
        let s = optimal(&p);
        assert_eq!(s.pi, vec![1.0]);
        assert_feasible(&p, &s, "one arm");
    }
    // Budget exactly the cheapest cost: all free mass on the cheapest arm.
    let p = DesignProblem {
        matrices: vec![vec![m1.clone(), m2.clone()]],
        costs: vec![1.0, 3.0],
        budget: Some(1.0),
        min_mass: None,
        criterion: Criterion::D,
    };
    let s = optimal(&p);
    assert_eq!(s.pi, vec![1.0, 0.0]);
    // Min masses summing to one: π = γ.
    let p = DesignProblem {
        min_mass: Some(vec![0.25, 0.75]),
        budget: None,
        criterion: Criterion::E,
        ..p
    };
    let s = optimal(&p);
    assert_eq!(s.pi, vec![0.25, 0.75]);
    // Zero costs and a zero budget are feasible; a negative budget is not.
    let p = DesignProblem {
        costs: vec![0.0, 0.0],
        budget: Some(0.0),
        min_mass: None,
        ..p
    };
    assert_feasible(&p, &optimal(&p), "zero costs");
    let p = DesignProblem {
        budget: Some(-1.0),
        ..p
    };
    assert!(matches!(
        solve_design(&p, &opts),
        Ok(DesignOutcome::Infeasible { cheapest_cost: Some(c), .. }) if c == 0.0
    ));
    // d = 1: E maximizes the scalar, A minimizes its inverse, D its log — all pick the largest.
    for criterion in [Criterion::E, Criterion::A, Criterion::D] {
        let p = DesignProblem {
            matrices: vec![vec![
                DMatrix::from_element(1, 1, 1.0),
                DMatrix::from_element(1, 1, 3.0),
            ]],
            costs: vec![1.0, 1.0],
            budget: None,
            min_mass: None,
            criterion,
        };
        let s = optimal(&p);
        assert!(s.pi[1] > 1.0 - 1e-6, "{criterion}: {:?}", s.pi);
    }
    // E with several groups is an error (use E_robust); E_robust with one group is E.
    let p = DesignProblem {
        matrices: vec![vec![m1.clone(), m2.clone()], vec![m2.clone(), m1.clone()]],
        costs: vec![1.0, 1.0],
        budget: None,
        min_mass: None,
        criterion: Criterion::E,
    };
    assert!(solve_design(&p, &opts).is_err());
    let e = optimal(&DesignProblem {
        matrices: vec![vec![m1.clone(), m2.clone()]],
        ..p.clone()
    });
    let r = optimal(&DesignProblem {
        matrices: vec![vec![m1, m2]],
        criterion: Criterion::ERobust,
        ..p
    });
    assert!((e.objective - r.objective).abs() < 1e-9);
}
