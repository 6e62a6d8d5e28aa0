//! Optimal intervention mixtures for a bucket of a dataset version (DESIGN §2 "Optimal design"):
//! builds the per-arm information M̂ and acceptance-aware costs from an analysis and the registry,
//! calls the one design engine (`numerics::optimal_design`) and explains the answer in arm words.
//!
//! Entry points: [`design_bucket`], [`instance::parse_instance`]. No SQL and no printing; callers
//! load the analysis and the registry view.

pub mod budget;
pub mod instance;

use nalgebra::DMatrix;
use serde::Serialize;
use thiserror::Error;

use crate::analysis::{Analyzed, BucketInformation, RegistryView, direction_in_words};
use crate::model::Arm;
use crate::model::dataset::BASELINE;
use crate::model::intervention::{Acceptance, EffectiveCost};
use crate::numerics::eigen::sym_eigen;
use crate::numerics::optimal_design::{
    Criterion, DesignError, DesignOutcome, DesignProblem, SolverOptions, criterion_value,
    solve_design,
};

/// Labels suggested to estimate an unexplored arm's information before designing with it.
pub const PILOT_LABELS: u64 = 30;

#[derive(Debug, Error)]
pub enum BucketDesignError {
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Solver(#[from] DesignError),
    #[error(transparent)]
    Eigen(#[from] crate::numerics::eigen::EigenError),
}

/// What to design.
#[derive(Debug, Clone)]
pub struct DesignRequest {
    pub bucket: String,
    pub criterion: Criterion,
    /// Average cost per labeled comparison the mixture may spend (Σ π_r c_r ≤ budget).
    pub budget: Option<f64>,
    /// Cost of labeling one comparison, added to every arm.
    pub label_cost: f64,
    /// Lower bounds γ_r on arms, by arm name.
    pub min_mass: Vec<(String, f64)>,
    /// Group matrices for the group-robust E criterion: (group, matrices in `arms` order).
    pub groups: Option<crate::analysis::GroupMatrices>,
}

/// One arm of the answer.
#[derive(Debug, Clone, Serialize)]
pub struct ArmChoice {
    pub arm: String,
    pub words: String,
    /// Comparisons of the bucket in this arm now.
    pub n: u64,
    pub current_share: f64,
    /// Cost of one labeled comparison in this arm: label cost + effective costs of its edits.
    pub cost: f64,
    /// Optimal share of new labels (0 when infeasible).
    pub pi: f64,
}

/// An arm the design could not use.
#[derive(Debug, Clone, Serialize)]
pub struct UnexploredArm {
    pub arm: String,
    pub words: String,
    pub reason: String,
    /// Labels suggested to estimate its information.
    pub pilot: u64,
}

/// A direction with its loadings and words.
#[derive(Debug, Clone, Serialize)]
pub struct Direction {
    pub words: String,
    pub loadings: crate::model::named::NamedValues,
}

/// The optimal mixture for one bucket, compared with the current empirical mixture.
#[derive(Debug, Clone, Serialize)]
pub struct BucketDesign {
    pub dataset: String,
    pub version: u32,
    pub bucket: String,
    pub criterion: String,
    pub budget: Option<f64>,
    pub label_cost: f64,
    /// The features designed for: the bucket's default scope (its non-absent features). Absent
    /// features carry no information in any arm with data, so over the full space every mixture
    /// would have λ_min = 0 along them and the design would say nothing.
    pub scope: Vec<String>,
    pub absent_features: Vec<String>,
    pub status: String,
    /// Criterion value of the optimal mixture (recomputed from π).
    pub objective: Option<f64>,
    /// Criterion value of the current empirical mixture.
    pub current_objective: Option<f64>,
    pub gap: Option<f64>,
    pub iterations: Option<usize>,
    pub cost: Option<f64>,
    pub arms: Vec<ArmChoice>,
    pub lambda_min_current: f64,
    pub lambda_min_optimal: Option<f64>,
    /// λ_min(optimal)/λ_min(current): how many times fewer labels reach the same worst-direction
    /// error; `None` when the current mixture identifies nothing (λ_min = 0) or when infeasible.
    pub savings_ratio: Option<f64>,
    pub weakest_before: Direction,
    pub weakest_after: Option<Direction>,
    pub unexplored: Vec<UnexploredArm>,
    /// When infeasible: the smallest average cost that admits a mixture.
    pub cheapest_cost: Option<f64>,
    pub infeasible_reason: Option<String>,
    pub notes: Vec<String>,
}

/// Arm names in words: "shorten on one side, the other unedited".
pub fn arm_in_words(arm: &str) -> String {
    if arm == BASELINE {
        return "both sides unedited (passive)".to_string();
    }
    match arm.split_once('/') {
        Some((BASELINE, x)) | Some((x, BASELINE)) => format!("{x} on one side, the other unedited"),
        Some((x, y)) if x == y => format!("{x} on both sides"),
        Some((x, y)) => format!("{x} on one side, {y} on the other"),
        None => arm.to_string(),
    }
}

/// Effective cost (cost/acceptance) of an intervention in a bucket, with a note when assumed.
fn effective_cost(
    registry: &RegistryView,
    bucket: &str,
    name: &str,
    notes: &mut Vec<String>,
) -> Result<f64, String> {
    let Some((cost, observations)) = registry.interventions.get(name) else {
        return Err(format!("intervention '{name}' is not registered"));
    };
    match Acceptance::in_bucket(observations, bucket).effective_cost(*cost) {
        EffectiveCost::PerAcceptedEdit(c) => Ok(c),
        // A planning assumption, said in the answer: without observations the edit is priced as if
        // every attempt were accepted.
        EffectiveCost::NoObservations => {
            let note = format!(
                "{name}: no acceptance observations in {bucket}; its cost is used as if every edit were accepted"
            );
            if !notes.contains(&note) {
                notes.push(note);
            }
            Ok(*cost)
        }
        EffectiveCost::NeverAccepted { attempts } => Err(format!(
            "{name} was never accepted in {bucket} ({attempts} attempts)"
        )),
    }
}

pub fn arm_cost(
    registry: &RegistryView,
    bucket: &str,
    arm: &str,
    label_cost: f64,
    notes: &mut Vec<String>,
) -> Result<f64, String> {
    let mut total = label_cost;
    let Some(parsed) = Arm::parse(arm) else {
        return Err(format!("'{arm}' is not an arm name"));
    };
    // Both sides count: an arm editing both sides with the same intervention pays twice.
    let sides: Vec<&str> = parsed
        .as_str()
        .split('/')
        .filter(|s| *s != BASELINE)
        .collect();
    for side in sides {
        total += effective_cost(registry, bucket, side, notes)?;
    }
    Ok(total)
}

fn weakest(
    matrix: &DMatrix<f64>,
    features: &[String],
) -> Result<(f64, Direction), BucketDesignError> {
    let eig = sym_eigen(matrix)?;
    let v = eig.min_vector();
    Ok((
        eig.psd_lambda_min(),
        Direction {
            words: direction_in_words(features, &v),
            loadings: crate::model::named::NamedValues(
                features.iter().cloned().zip(v.iter().copied()).collect(),
            ),
        },
    ))
}

fn mixture(arms: &[&DMatrix<f64>], pi: &[f64], d: usize) -> DMatrix<f64> {
    let mut x = DMatrix::zeros(d, d);
    for (m, p) in arms.iter().zip(pi) {
        x += *m * *p;
    }
    x
}

/// Designs the optimal mixture for one bucket. `candidate_arms` are every arm the registry could
/// produce (pairs of active interventions and baseline); those without data are listed as
/// unexplored, never dropped silently.
pub fn design_bucket(
    analyzed: &Analyzed,
    registry: &RegistryView,
    candidate_arms: &[String],
    req: &DesignRequest,
    options: &SolverOptions,
) -> Result<BucketDesign, BucketDesignError> {
    let a = &analyzed.analysis;
    let all_features: Vec<String> = a.features.iter().map(|f| f.name.clone()).collect();
    let pos = a
        .bucket_position(&req.bucket)
        .map_err(|e| BucketDesignError::Input(e.to_string()))?;
    let info: &BucketInformation = &analyzed.information[pos];
    let bucket = &a.buckets[pos];
    // Design on the bucket's default scope (principal submatrices: exact, since an absent
    // feature's rows and columns are zero in every arm's information).
    let scope: Vec<usize> = (0..all_features.len())
        .filter(|&j| bucket.scope.contains(&all_features[j]))
        .collect();
    if scope.is_empty() {
        return Err(BucketDesignError::Input(format!(
            "every feature is absent from bucket '{}' (no comparison differs in any): there is nothing to design for",
            req.bucket
        )));
    }
    let features: Vec<String> = scope.iter().map(|&j| all_features[j].clone()).collect();
    let d = features.len();
    let scoped = |m: &DMatrix<f64>| {
        crate::numerics::scope::submatrix(m, &scope)
            .map_err(|e| BucketDesignError::Input(e.to_string()))
    };
    let mut notes = Vec::new();
    let mut unexplored = Vec::new();
    let mut usable: Vec<(usize, f64)> = Vec::new();
    for (i, arm) in info.arms.iter().enumerate() {
        match arm_cost(registry, &req.bucket, &arm.arm, req.label_cost, &mut notes) {
            Ok(c) => usable.push((i, c)),
            Err(reason) => unexplored.push(UnexploredArm {
                arm: arm.arm.clone(),
                words: arm_in_words(&arm.arm),
                reason: format!("has data but cannot be bought: {reason}"),
                pilot: 0,
            }),
        }
    }
    for arm in candidate_arms {
        if !info.arms.iter().any(|x| &x.arm == arm) {
            unexplored.push(UnexploredArm {
                arm: arm.clone(),
                words: arm_in_words(arm),
                reason: "no comparisons yet, so no information estimate".into(),
                pilot: PILOT_LABELS,
            });
        }
    }
    unexplored.sort_by(|x, y| x.arm.cmp(&y.arm));
    if usable.is_empty() {
        return Err(BucketDesignError::Input(format!(
            "bucket '{}' has no arm that can be bought",
            req.bucket
        )));
    }
    for (arm, g) in &req.min_mass {
        if !usable.iter().any(|(i, _)| &info.arms[*i].arm == arm) {
            return Err(BucketDesignError::Input(format!(
                "--min-mass names arm '{arm}', which has no usable data in '{}' (arms: {})",
                req.bucket,
                usable
                    .iter()
                    .map(|(i, _)| info.arms[*i].arm.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if !(g.is_finite() && (0.0..=1.0).contains(g)) {
            return Err(BucketDesignError::Input(format!(
                "--min-mass {arm}={g}: expected a share in [0, 1]"
            )));
        }
    }
    let arm_names: Vec<String> = usable
        .iter()
        .map(|(i, _)| info.arms[*i].arm.clone())
        .collect();
    let matrices: Vec<DMatrix<f64>> = usable
        .iter()
        .map(|(i, _)| scoped(&info.arms[*i].matrix))
        .collect::<Result<_, _>>()?;
    let costs: Vec<f64> = usable.iter().map(|(_, c)| *c).collect();
    let min_mass = (!req.min_mass.is_empty()).then(|| {
        arm_names
            .iter()
            .map(|n| {
                req.min_mass
                    .iter()
                    .find(|(a, _)| a == n)
                    .map_or(0.0, |(_, g)| *g)
            })
            .collect()
    });
    let groups = match (&req.groups, req.criterion) {
        (Some(groups), Criterion::ERobust) => {
            if groups.is_empty() {
                return Err(BucketDesignError::Input(format!(
                    "bucket '{}' has no grouped comparisons: the group-robust design needs a `group` on the records",
                    req.bucket
                )));
            }
            groups
                .iter()
                .map(|(_, ms)| usable.iter().map(|(i, _)| scoped(&ms[*i])).collect())
                .collect::<Result<_, _>>()?
        }
        _ => vec![matrices.clone()],
    };
    let problem = DesignProblem {
        matrices: groups,
        costs: costs.clone(),
        budget: req.budget,
        min_mass,
        criterion: req.criterion,
    };
    // The current mixture: the bucket's arm shares among usable arms.
    let n_usable: u64 = usable.iter().map(|(i, _)| info.arms[*i].n).sum();
    let current: Vec<f64> = usable
        .iter()
        .map(|(i, _)| info.arms[*i].n as f64 / n_usable.max(1) as f64)
        .collect();
    let refs: Vec<&DMatrix<f64>> = matrices.iter().collect();
    let (lambda_current, weakest_before) = weakest(&mixture(&refs, &current, d), &features)?;
    let current_objective = criterion_value(req.criterion, &problem.matrices, &current)
        .ok()
        .filter(|v| v.is_finite());
    let outcome = solve_design(&problem, options)?;
    let arms_out = |pi: Option<&[f64]>| -> Vec<ArmChoice> {
        usable
            .iter()
            .enumerate()
            .map(|(k, (i, c))| ArmChoice {
                arm: info.arms[*i].arm.clone(),
                words: arm_in_words(&info.arms[*i].arm),
                n: info.arms[*i].n,
                current_share: info.arms[*i].n as f64 / info.n.max(1) as f64,
                cost: *c,
                pi: pi.map_or(0.0, |p| p[k]),
            })
            .collect()
    };
    let base = BucketDesign {
        dataset: a.dataset.clone(),
        version: a.version,
        bucket: req.bucket.clone(),
        criterion: req.criterion.name().to_string(),
        budget: req.budget,
        label_cost: req.label_cost,
        scope: features.clone(),
        absent_features: bucket.absent_features.clone(),
        status: String::new(),
        objective: None,
        current_objective,
        gap: None,
        iterations: None,
        cost: None,
        arms: Vec::new(),
        lambda_min_current: lambda_current,
        lambda_min_optimal: None,
        savings_ratio: None,
        weakest_before,
        weakest_after: None,
        unexplored,
        cheapest_cost: None,
        infeasible_reason: None,
        notes,
    };
    Ok(match outcome {
        DesignOutcome::Optimal(sol) => {
            let (lambda_opt, after) = weakest(&mixture(&refs, &sol.pi, d), &features)?;
            BucketDesign {
                status: "optimal".into(),
                objective: Some(sol.objective),
                gap: Some(sol.gap),
                iterations: Some(sol.iterations),
                cost: Some(sol.cost),
                arms: arms_out(Some(&sol.pi)),
                lambda_min_optimal: Some(lambda_opt),
                savings_ratio: (lambda_current > 0.0).then(|| lambda_opt / lambda_current),
                weakest_after: Some(after),
                ..base
            }
        }
        DesignOutcome::Infeasible {
            cheapest_cost,
            reason,
        } => BucketDesign {
            status: "infeasible".into(),
            arms: arms_out(None),
            cheapest_cost,
            infeasible_reason: Some(reason),
            ..base
        },
    })
}

/// Every arm the registry could produce: unordered pairs of {baseline} ∪ active interventions.
pub fn candidate_arms(active: &[String]) -> Vec<String> {
    let mut sides: Vec<Option<&str>> = vec![None];
    sides.extend(active.iter().map(|s| Some(s.as_str())));
    let mut out = Vec::new();
    for i in 0..sides.len() {
        for j in i..sides.len() {
            out.push(Arm::of(sides[i], sides[j]).as_str().to_string());
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arms_in_words() {
        assert_eq!(arm_in_words("baseline"), "both sides unedited (passive)");
        assert_eq!(
            arm_in_words("baseline/shorten"),
            "shorten on one side, the other unedited"
        );
        assert_eq!(
            arm_in_words("expand/shorten"),
            "expand on one side, shorten on the other"
        );
        assert_eq!(arm_in_words("hedge/hedge"), "hedge on both sides");
    }

    #[test]
    fn candidate_arms_cover_every_pair() {
        let arms = candidate_arms(&["a".into(), "b".into()]);
        assert_eq!(
            arms,
            vec!["a/a", "a/b", "a/baseline", "b/b", "b/baseline", "baseline"]
        );
    }
}
