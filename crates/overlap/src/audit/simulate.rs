//! Simulated reviewers for the demo and for tests: verdicts on a review sheet drawn from a simple,
//! documented model, deterministic for a seed.
//!
//! Entry point: [`simulate_verdicts`]. Each comparison has a latent truth (meaningful, on-policy)
//! drawn with the configured probabilities (separately for comparisons drawn along the weakest
//! direction and for probes, so a demo can show overlap that experts reject); each reviewer reports
//! each truth correctly with probability `accuracy`. Pure: rows in, filled rows out; it records
//! nothing (pass the result to `audit::record_verdicts`).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::AuditError;
use super::sampling::Selection;
use super::sheet::{FilledRow, SheetRow};

/// The simulated review panel.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedReview {
    /// Reviewer names; comparison k goes to reviewer k mod r first.
    pub reviewers: Vec<String>,
    /// P(a comparison drawn along the weakest direction is meaningful / on-policy).
    pub meaningful_along: f64,
    pub on_policy_along: f64,
    /// The same for probe comparisons.
    pub meaningful_probe: f64,
    pub on_policy_probe: f64,
    /// P(a reviewer reports a latent truth correctly).
    pub accuracy: f64,
    /// P(a comparison also gets the next reviewer's verdict), so agreement can be measured.
    pub second_opinion: f64,
    pub seed: u64,
}

fn check(name: &str, p: f64) -> Result<(), AuditError> {
    if p.is_finite() && (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(AuditError::Input(format!(
            "simulated review: {name} must be a probability in [0, 1], found {p}"
        )))
    }
}

/// Verdicts for every row of a sheet (in row order; a second opinion follows the first). Lines are
/// numbered from 1 in output order so that problems can point at them.
pub fn simulate_verdicts(
    rows: &[SheetRow],
    review: &SimulatedReview,
) -> Result<Vec<FilledRow>, AuditError> {
    if review.reviewers.is_empty() || review.reviewers.iter().any(|r| r.trim().is_empty()) {
        return Err(AuditError::Input(
            "simulated review: name at least one reviewer, none empty".into(),
        ));
    }
    check("meaningful_along", review.meaningful_along)?;
    check("on_policy_along", review.on_policy_along)?;
    check("meaningful_probe", review.meaningful_probe)?;
    check("on_policy_probe", review.on_policy_probe)?;
    check("accuracy", review.accuracy)?;
    check("second_opinion", review.second_opinion)?;
    let mut rng = ChaCha8Rng::seed_from_u64(review.seed);
    let r = review.reviewers.len();
    let mut out: Vec<FilledRow> = Vec::new();
    for (k, row) in rows.iter().enumerate() {
        let (pm, po) = if row.selected_by == Selection::WeakestDirection {
            (review.meaningful_along, review.on_policy_along)
        } else {
            (review.meaningful_probe, review.on_policy_probe)
        };
        // Seven draws per row whatever happens, so each row's verdicts do not depend on how
        // earlier rows were judged.
        let u: [f64; 7] = std::array::from_fn(|_| rng.random::<f64>());
        let meaningful = u[0] < pm;
        let on_policy = u[1] < po;
        let second = r > 1 && u[2] < review.second_opinion;
        let report = |truth: bool, draw: f64| {
            if draw < review.accuracy {
                truth
            } else {
                !truth
            }
        };
        let judges: &[(usize, f64, f64)] = if second {
            &[(k, u[3], u[4]), (k + 1, u[5], u[6])]
        } else {
            &[(k, u[3], u[4])]
        };
        for &(who, um, up) in judges {
            let m = report(meaningful, um);
            let p = report(on_policy, up);
            out.push(FilledRow {
                line: out.len() as u64 + 1,
                audit_id: row.audit_id.clone(),
                comparison_id: row.comparison_id.clone(),
                dataset: Some(row.dataset.clone()),
                reviewer: Some(review.reviewers[who % r].clone()),
                meaningful: Some(m),
                on_policy: Some(p),
                note: (!(m && p)).then(|| "simulated reviewer".to_string()),
            });
        }
    }
    Ok(out)
}
