//! Scenarios of the simulation laboratory: the YAML format, the built-ins, validation and the
//! resolved environment ([`World`]) the runs sample from.
//!
//! Entry points: [`Scenario::builtin`], [`Scenario::from_yaml`], [`Scenario::world`]. A scenario
//! names its features and true weights w*, its arms (each a linear map A_a of standard-normal
//! latent differences, an optional offset b_a and independent per-feature noise variances, so each
//! arm has its own correlation structure), the interventions' costs and acceptance rates, and an
//! out-of-distribution test distribution. `rho`, when given, is the correlation of the baseline
//! arm within every listed feature pair (what `--sweep rho=…` varies); `test: {flip: true}` is the
//! baseline distribution with those correlations negated. Validation collects every problem
//! before failing. Pure: the CLI reads files, this parses text.

use std::collections::BTreeMap;

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::Arm;
use crate::model::dataset::BASELINE;
use crate::numerics::eigen::sym_eigen;

/// The built-in scenarios, by name, with their YAML text (also shown by docs/simulate.md).
pub const BUILTINS: &[(&str, &str)] = &[
    ("two-factor", include_str!("scenarios/two-factor.yaml")),
    (
        "helpful-harmless",
        include_str!("scenarios/helpful-harmless.yaml"),
    ),
];

/// Eigenvalues of a covariance below −this·max(1, λ_max) mean it is not PSD (rounding of a
/// PSD matrix built from a map stays orders of magnitude smaller).
const PSD_TOLERANCE: f64 = 1e-9;

#[derive(Debug, Error)]
pub enum ScenarioError {
    #[error("unknown scenario '{name}': use one of {known} or a .yaml file")]
    Unknown { name: String, known: String },
    #[error("{source_name}: {message}")]
    Syntax {
        source_name: String,
        message: String,
    },
    #[error("{source_name}: {}", problems.join("; "))]
    Invalid {
        source_name: String,
        problems: Vec<String>,
    },
}

/// An intervention's edit cost and acceptance rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterventionSpec {
    /// Cost of one edit attempt.
    pub cost: f64,
    /// Share of attempts that produce a valid edit, in (0, 1].
    pub acceptance: f64,
}

/// One arm: Δφ = ±(b + A z) + ε with z ~ N(0, I), ε ~ N(0, diag(noise)), the sign a fair coin
/// (which side is "a").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmSpec {
    pub arm: String,
    /// features × latent.
    pub map: Vec<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<Vec<f64>>,
    /// Per-feature noise variances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<Vec<f64>>,
}

/// The out-of-distribution test distribution (zero mean, so the sign-error rate is exact).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSpec {
    /// The baseline distribution with every listed pair's correlation negated.
    #[serde(default)]
    pub flip: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<Vec<Vec<f64>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<Vec<f64>>,
}

fn default_label_cost() -> f64 {
    1.0
}

fn default_ridge() -> f64 {
    1e-4
}

fn default_target() -> f64 {
    0.02
}

/// A scenario as written in YAML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub features: Vec<String>,
    /// w*.
    pub weights: Vec<f64>,
    /// Correlation of the baseline arm within every pair of `pairs`.
    #[serde(default)]
    pub rho: Option<f64>,
    /// Feature pairs: crossed-quadrant shares are reported for them (the smallest), `rho` and
    /// `test.flip` act on them. Default: the first two features.
    #[serde(default)]
    pub pairs: Vec<[String; 2]>,
    #[serde(default = "default_label_cost")]
    pub label_cost: f64,
    /// Average cost per label the cost-aware strategies may spend (`None`: unconstrained).
    #[serde(default)]
    pub budget: Option<f64>,
    /// γ: share of every designed batch kept on the baseline arm.
    #[serde(default)]
    pub explore: f64,
    /// ρ of the BTL fit after each batch.
    #[serde(default = "default_ridge")]
    pub ridge: f64,
    /// The MSE whose label count is reported.
    #[serde(default = "default_target")]
    pub target_mse: f64,
    #[serde(default)]
    pub interventions: BTreeMap<String, InterventionSpec>,
    pub arms: Vec<ArmSpec>,
    pub test: TestSpec,
}

/// One arm of a resolved scenario.
#[derive(Debug, Clone)]
pub struct WorldArm {
    pub arm: String,
    pub mean: Vec<f64>,
    pub covariance: DMatrix<f64>,
    /// F with FFᵀ = covariance (from the eigen-decomposition, so a singular covariance works).
    pub factor: DMatrix<f64>,
    /// label_cost + Σ over edited sides of cost/acceptance.
    pub cost: f64,
}

/// A scenario with every distribution resolved (and `rho` applied).
#[derive(Debug, Clone)]
pub struct World {
    pub d: usize,
    pub features: Vec<String>,
    pub weights: Vec<f64>,
    pub rho: Option<f64>,
    pub pairs: Vec<(usize, usize)>,
    pub arms: Vec<WorldArm>,
    /// Index of the baseline arm in `arms`.
    pub baseline: usize,
    pub test_covariance: DMatrix<f64>,
    pub budget: Option<f64>,
    pub explore: f64,
    pub ridge: f64,
    pub target_mse: f64,
}

impl Scenario {
    /// A built-in scenario by name.
    pub fn builtin(name: &str) -> Result<Scenario, ScenarioError> {
        match BUILTINS.iter().find(|(n, _)| *n == name) {
            Some((n, text)) => Scenario::from_yaml(text, n),
            None => Err(ScenarioError::Unknown {
                name: name.to_string(),
                known: BUILTINS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Parses and validates a scenario; `source_name` names it in messages.
    pub fn from_yaml(text: &str, source_name: &str) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario =
            serde_saphyr::from_str(text).map_err(|e| ScenarioError::Syntax {
                source_name: source_name.to_string(),
                message: e.to_string(),
            })?;
        // Resolving checks everything (shapes, costs, PSD covariances) and collects every problem.
        scenario.world_named(scenario.rho, source_name)?;
        Ok(scenario)
    }

    /// The resolved environment, with `rho` replaced by `rho` when given.
    pub fn world(&self, rho: Option<f64>) -> Result<World, ScenarioError> {
        self.world_named(rho.or(self.rho), &self.name)
    }

    fn world_named(&self, rho: Option<f64>, source_name: &str) -> Result<World, ScenarioError> {
        let mut p = Vec::new();
        let d = self.features.len();
        if d == 0 {
            p.push("features: at least one feature is needed".to_string());
        }
        for (i, f) in self.features.iter().enumerate() {
            if f.is_empty() || self.features[..i].contains(f) {
                p.push(format!("features: '{f}' is empty or listed twice"));
            }
        }
        if self.weights.len() != d {
            p.push(format!(
                "weights: {} values for {d} features",
                self.weights.len()
            ));
        }
        if self.weights.iter().any(|w| !w.is_finite()) {
            p.push("weights: every weight must be finite".to_string());
        }
        let index = |f: &str| self.features.iter().position(|x| x == f);
        let mut pairs = Vec::new();
        if self.pairs.is_empty() && d >= 2 {
            pairs.push((0, 1));
        }
        for [a, b] in &self.pairs {
            match (index(a), index(b)) {
                (Some(i), Some(j)) if i != j => pairs.push((i, j)),
                (Some(_), Some(_)) => p.push(format!("pairs: [{a}, {b}] names one feature twice")),
                _ => p.push(format!(
                    "pairs: [{a}, {b}] names a feature that is not in features ({})",
                    self.features.join(", ")
                )),
            }
        }
        if let Some(r) = rho {
            if !(r.is_finite() && r > -1.0 && r < 1.0) {
                p.push(format!("rho: {r} must be in (−1, 1)"));
            }
            if pairs.is_empty() {
                p.push("rho: needs at least one feature pair (pairs)".to_string());
            }
        }
        let positive_or_zero = |x: f64| x.is_finite() && x >= 0.0;
        if !positive_or_zero(self.label_cost) {
            p.push(format!("label_cost: {} must be ≥ 0", self.label_cost));
        }
        if !(self.explore.is_finite() && (0.0..=1.0).contains(&self.explore)) {
            p.push(format!("explore: {} must be in [0, 1]", self.explore));
        }
        if !(self.ridge.is_finite() && self.ridge > 0.0) {
            p.push(format!(
                "ridge: {} must be > 0 (early batches can be separable)",
                self.ridge
            ));
        }
        if !(self.target_mse.is_finite() && self.target_mse > 0.0) {
            p.push(format!("target_mse: {} must be > 0", self.target_mse));
        }
        for (name, i) in &self.interventions {
            if !positive_or_zero(i.cost) {
                p.push(format!("interventions.{name}.cost: {} must be ≥ 0", i.cost));
            }
            if !(i.acceptance.is_finite() && i.acceptance > 0.0 && i.acceptance <= 1.0) {
                p.push(format!(
                    "interventions.{name}.acceptance: {} must be in (0, 1]",
                    i.acceptance
                ));
            }
        }
        let latent = self
            .arms
            .first()
            .and_then(|a| a.map.first())
            .map_or(0, Vec::len);
        let mut arms = Vec::new();
        for (k, a) in self.arms.iter().enumerate() {
            let at = format!("arms[{k}] ({})", a.arm);
            let Some(parsed) = Arm::parse(&a.arm) else {
                p.push(format!(
                    "{at}: not an arm name (baseline, or two sides joined by '/')"
                ));
                continue;
            };
            if parsed.as_str() != a.arm {
                p.push(format!("{at}: write the arm as '{parsed}'"));
            }
            if self.arms[..k].iter().any(|b| b.arm == a.arm) {
                p.push(format!("{at}: listed twice"));
            }
            let mut cost = self.label_cost;
            for side in a.arm.split('/').filter(|s| *s != BASELINE) {
                match self.interventions.get(side) {
                    Some(i) if i.acceptance > 0.0 => cost += i.cost / i.acceptance,
                    Some(_) => {}
                    None => p.push(format!(
                        "{at}: intervention '{side}' is not listed under interventions"
                    )),
                }
            }
            let Some(cov) = covariance(&a.map, a.noise.as_deref(), d, latent, &at, &mut p) else {
                continue;
            };
            let mean = match &a.offset {
                Some(b) if b.len() == d && b.iter().all(|x| x.is_finite()) => b.clone(),
                Some(b) => {
                    p.push(format!(
                        "{at}.offset: {} finite values expected, found {}",
                        d,
                        b.len()
                    ));
                    continue;
                }
                None => vec![0.0; d],
            };
            arms.push((a.arm.clone(), mean, cov, cost));
        }
        let baseline = arms.iter().position(|(a, ..)| a == BASELINE);
        if baseline.is_none() && !self.arms.is_empty() {
            p.push("arms: a 'baseline' arm (passive collection) is required".to_string());
        }
        if self.arms.is_empty() {
            p.push("arms: at least one arm is needed".to_string());
        }
        if let (Some(b), Some(r)) = (baseline, rho) {
            let cov = &mut arms[b].2;
            for &(i, j) in &pairs {
                let c = r * (cov[(i, i)] * cov[(j, j)]).sqrt();
                cov[(i, j)] = c;
                cov[(j, i)] = c;
            }
        }
        let test = match (&self.test.flip, &self.test.map) {
            (true, Some(_)) => {
                p.push("test: give either flip: true or a map, not both".to_string());
                None
            }
            (true, None) => baseline.map(|b| {
                let mut cov = arms[b].2.clone();
                for &(i, j) in &pairs {
                    cov[(i, j)] = -cov[(i, j)];
                    cov[(j, i)] = -cov[(j, i)];
                }
                cov
            }),
            (false, Some(map)) => {
                covariance(map, self.test.noise.as_deref(), d, latent, "test", &mut p)
            }
            (false, None) => {
                p.push("test: give flip: true or a map".to_string());
                None
            }
        };
        let mut world_arms = Vec::new();
        for (arm, mean, cov, cost) in arms {
            match psd_factor(&cov) {
                Some(factor) => world_arms.push(WorldArm {
                    arm,
                    mean,
                    covariance: cov,
                    factor,
                    cost,
                }),
                None => p.push(format!(
                    "arms ({arm}): the covariance is not positive semidefinite{}",
                    if rho.is_some() { " with this rho" } else { "" }
                )),
            }
        }
        if let Some(t) = &test {
            if psd_factor(t).is_none() {
                p.push("test: the covariance is not positive semidefinite".to_string());
            }
        }
        if let Some(b) = self.budget {
            let cheapest = world_arms
                .iter()
                .map(|a| a.cost)
                .fold(f64::INFINITY, f64::min);
            if !(b.is_finite() && b >= cheapest) {
                p.push(format!(
                    "budget: {b} per label is below the cheapest arm's cost {cheapest}"
                ));
            }
        }
        if !p.is_empty() {
            return Err(ScenarioError::Invalid {
                source_name: source_name.to_string(),
                problems: p,
            });
        }
        let (Some(baseline), Some(test)) = (baseline, test) else {
            return Err(ScenarioError::Invalid {
                source_name: source_name.to_string(),
                problems: vec!["the scenario has no baseline arm or test distribution".into()],
            });
        };
        Ok(World {
            d,
            features: self.features.clone(),
            weights: self.weights.clone(),
            rho,
            pairs,
            arms: world_arms,
            baseline,
            test_covariance: test,
            budget: self.budget,
            explore: self.explore,
            ridge: self.ridge,
            target_mse: self.target_mse,
        })
    }
}

/// A AᵀA + diag(noise) from a features × latent map, with every shape problem reported.
fn covariance(
    map: &[Vec<f64>],
    noise: Option<&[f64]>,
    d: usize,
    latent: usize,
    at: &str,
    p: &mut Vec<String>,
) -> Option<DMatrix<f64>> {
    if map.len() != d {
        p.push(format!("{at}.map: {} rows for {d} features", map.len()));
        return None;
    }
    if latent == 0 || map.iter().any(|row| row.len() != latent) {
        p.push(format!(
            "{at}.map: every row needs the same number of latent columns ({latent}, from the first arm)"
        ));
        return None;
    }
    if map.iter().flatten().any(|x| !x.is_finite()) {
        p.push(format!("{at}.map: every entry must be finite"));
        return None;
    }
    let a = DMatrix::from_fn(d, latent, |i, j| map[i][j]);
    let mut cov = &a * a.transpose();
    if let Some(noise) = noise {
        if noise.len() != d || noise.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
            p.push(format!("{at}.noise: {d} non-negative variances expected"));
            return None;
        }
        for (i, v) in noise.iter().enumerate() {
            cov[(i, i)] += v;
        }
    }
    Some(cov)
}

/// F = V·diag(√λ) with FFᵀ = C, or `None` when C is not PSD (beyond rounding).
pub(crate) fn psd_factor(c: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    let eig = sym_eigen(c).ok()?;
    let scale = eig.lambda_max().abs().max(1.0);
    if eig.lambda_min() < -PSD_TOLERANCE * scale {
        return None;
    }
    let d = eig.dim();
    Some(DMatrix::from_fn(d, d, |i, k| {
        eig.vectors[(i, k)] * eig.values[k].max(0.0).sqrt()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_resolve() {
        for (name, _) in BUILTINS {
            let s = Scenario::builtin(name).unwrap();
            let w = s.world(None).unwrap();
            assert_eq!(w.arms[w.baseline].arm, "baseline");
            assert!(w.rho.is_some());
        }
    }

    #[test]
    fn rho_sets_the_baseline_correlation_and_flip_negates_it() {
        let s = Scenario::builtin("two-factor").unwrap();
        let w = s.world(Some(0.5)).unwrap();
        let b = &w.arms[w.baseline].covariance;
        assert!((b[(0, 1)] - 0.5).abs() < 1e-12);
        assert!((w.test_covariance[(0, 1)] + 0.5).abs() < 1e-12);
        let f = &w.arms[w.baseline].factor;
        assert!((f * f.transpose() - b).abs().max() < 1e-12);
    }

    #[test]
    fn every_problem_is_reported() {
        let text = r#"
name: bad
features: [a, b]
weights: [1.0]
rho: 1.5
interventions:
  x: {cost: -1, acceptance: 0}
arms:
  - arm: baseline
    map: [[1, 0], [0, 1]]
  - arm: baseline/y
    map: [[1, 0]]
test: {flip: true}
"#;
        let err = Scenario::from_yaml(text, "bad.yaml").unwrap_err();
        let ScenarioError::Invalid { problems, .. } = err else {
            panic!("{err}");
        };
        let all = problems.join("\n");
        for needle in [
            "weights",
            "rho",
            "interventions.x.cost",
            "interventions.x.acceptance",
            "intervention 'y'",
            "map: 1 rows",
        ] {
            assert!(all.contains(needle), "{needle} missing from:\n{all}");
        }
    }

    #[test]
    fn unknown_fields_are_syntax_errors() {
        let text =
            "name: x\nfeatures: [a]\nweights: [1]\narms: []\ntest: {flip: true}\nbudgett: 3\n";
        let err = Scenario::from_yaml(text, "x.yaml").unwrap_err();
        assert!(err.to_string().contains("budgett"), "{err}");
    }
}
