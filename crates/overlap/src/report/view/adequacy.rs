//! The design-adequacy report: directions, trade-offs, scoped claims, per-bucket adequacy and the
//! answer, and the builder.

use super::*;
use crate::analysis::{Analyzed, direction_in_words};
use crate::model::analysis::BucketAnalysis;
use crate::numerics::eigen::{is_identified, sym_eigen};
use crate::numerics::scope::{clean_loadings, scoped_information};
use crate::policy::findings::FindingKind;
use crate::policy::{Evaluation, Metric, Outcome};
use crate::report::solver_sections::{DesignSection, PlanSection};

/// What the adequacy report reads besides [`ReportInputs`].
#[derive(Debug, Clone, Copy)]
pub struct AdequacyInputs<'a> {
    pub base: ReportInputs<'a>,
    /// The full analysis with the per-bucket information matrices (eigenvectors of every
    /// direction come from these).
    pub analyzed: &'a Analyzed,
    pub budget: Option<f64>,
}

/// Every eigen-direction of Î_k = S_k/n_k + λ_I·I, weakest first, with the analysis's sign
/// convention. The eigenvalues shown are the analysis's (the same numbers as the label); the
/// vectors come from this decomposition.
fn directions(
    analyzed: &Analyzed,
    bucket: &BucketAnalysis,
    features: &[String],
    threshold: Option<f64>,
) -> Result<Vec<DirectionView>, ViewError> {
    let fail = |reason: String| ViewError::Information {
        bucket: bucket.bucket.clone(),
        reason,
    };
    // A bucket with comparisons always has summed information; without it nothing could be said
    // about its directions, and an empty list must never read as "nothing missing".
    let info = analyzed
        .information
        .iter()
        .find(|i| i.bucket == bucket.bucket && i.n > 0)
        .ok_or_else(|| fail("the analysis has no information matrix for it".to_owned()))?;
    let mean = info
        .mean_with_ridge(analyzed.analysis.params.info_ridge)
        .ok_or_else(|| fail("the bucket has no comparisons".to_owned()))?;
    // The directions live on the bucket's default scope (its present features), like its
    // eigenvalues; absent features are reported on their own.
    let scope: Vec<usize> = bucket
        .scope
        .iter()
        .filter_map(|f| features.iter().position(|x| x == f))
        .collect();
    if scope.is_empty() {
        return Ok(Vec::new());
    }
    let features: Vec<String> = scope.iter().map(|&j| features[j].clone()).collect();
    let features = features.as_slice();
    let scoped = scoped_information(&mean, &scope).map_err(|e| fail(e.to_string()))?;
    let eig = sym_eigen(&scoped).map_err(|e| fail(e.to_string()))?;
    let lambda_max = bucket.metrics.lambda_max;
    (0..eig.dim())
        .map(|k| {
            let vector = clean_loadings(
                &eig.vector(k)
                    .ok_or_else(|| fail(format!("no eigenvector {k}")))?,
            );
            let eigenvalue = bucket
                .eigenvalues
                .get(k)
                .copied()
                .unwrap_or_else(|| eig.values.get(k).copied().unwrap_or(0.0).max(0.0));
            let numerically = is_identified(eigenvalue, lambda_max);
            Ok(DirectionView {
                eigenvalue,
                identified: numerically && threshold.is_none_or(|t| eigenvalue >= t),
                words: direction_in_words(features, &vector),
                loadings: loadings(features, &vector),
            })
        })
        .collect()
}

fn scoped_claims(evaluation: &Evaluation, bucket: &str) -> Vec<ScopedClaimView> {
    evaluation
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Rule && f.bucket == bucket)
        .filter_map(|f| {
            Some(ScopedClaimView {
                rule: f.rule.clone().unwrap_or_default(),
                subject: f.subject(),
                scope: f.scope.clone()?,
                op: f.op.map(|o| o.symbol().to_owned()),
                threshold: f.threshold,
                value: f.value,
                outcome: f.outcome,
                note: f.evidence.note.clone(),
            })
        })
        .collect()
}

fn trade_offs(evaluation: &Evaluation, bucket: &BucketAnalysis) -> Vec<TradeOffView> {
    evaluation
        .findings
        .iter()
        .filter(|f| {
            f.kind == FindingKind::Rule
                && f.bucket == bucket.bucket
                && matches!(
                    f.metric,
                    Some(Metric::MinQuadrantShare | Metric::DiscordantShare)
                )
        })
        .filter_map(|f| {
            let features = f.features.clone()?;
            let crossed = bucket
                .pairs
                .iter()
                .find(|p| {
                    (p.features[0] == features[0] && p.features[1] == features[1])
                        || (p.features[0] == features[1] && p.features[1] == features[0])
                })
                .and_then(|p| p.discordant_share);
            Some(TradeOffView {
                rule: f.rule.clone().unwrap_or_default(),
                subject: f.subject(),
                features,
                crossed_share: crossed,
                op: f.op.map(|o| o.symbol().to_owned()),
                threshold: f.threshold,
                value: f.value,
                outcome: f.outcome,
            })
        })
        .collect()
}

fn adequacy_bucket(
    inputs: &AdequacyInputs<'_>,
    name: &str,
    features: &[String],
) -> Result<AdequacyBucket, ViewError> {
    let evaluation = inputs.base.evaluation;
    let threshold = lambda_min_threshold(&evaluation.rules, name);
    let audit = inputs
        .base
        .audits
        .iter()
        .find(|a| a.bucket == name)
        .map(audit_view);
    let worst_se_target = worst_se_target(&evaluation.rules, name);
    let Some(bucket) = inputs
        .base
        .analysis
        .buckets
        .iter()
        .find(|b| b.bucket == name && b.n > 0)
    else {
        return Ok(AdequacyBucket {
            bucket: name.to_owned(),
            adequacy: Adequacy::NoData,
            n: 0,
            threshold: threshold.map(|(value, rule)| ThresholdView {
                value,
                rule: Some(rule),
            }),
            directions: Vec::new(),
            identified: 0,
            missing: features.len(),
            worst_se: None,
            worst_se_target,
            scope: Vec::new(),
            absent_features: Vec::new(),
            trade_offs: Vec::new(),
            scoped_claims: Vec::new(),
            audit,
            summary: format!("'{name}' has no comparisons: nothing about it can be learned"),
        });
    };
    let directions = directions(
        inputs.analyzed,
        bucket,
        features,
        threshold.as_ref().map(|t| t.0),
    )?;
    let identified = directions.iter().filter(|d| d.identified).count();
    let missing = directions.len() - identified;
    let trade_offs = trade_offs(evaluation, bucket);
    let uncovered: Vec<&TradeOffView> = trade_offs
        .iter()
        .filter(|t| matches!(t.outcome, Outcome::Fail | Outcome::Waived | Outcome::Warn))
        .collect();
    let scoped_claims = scoped_claims(evaluation, &bucket.bucket);
    let unmet_claims: Vec<&ScopedClaimView> = scoped_claims
        .iter()
        .filter(|c| {
            matches!(
                c.outcome,
                Outcome::Fail | Outcome::Waived | Outcome::Warn | Outcome::NoData
            )
        })
        .collect();
    // Identified but too imprecise for the policy's bound is short of the policy too.
    let imprecise =
        worst_se_target.is_some_and(|t| bucket.metrics.worst_se.is_none_or(|se| se > t));
    let adequacy = if missing == 0 && uncovered.is_empty() && unmet_claims.is_empty() && !imprecise
    {
        Adequacy::Adequate
    } else {
        Adequacy::Gap
    };
    let bound = threshold.as_ref().map_or_else(
        || "numerical identification".to_owned(),
        |(t, rule)| format!("λ ≥ {} ({rule})", short(*t)),
    );
    let mut parts = Vec::new();
    let scope_words = if bucket.absent_features.is_empty() {
        String::new()
    } else {
        format!(" of its scope ({} features)", bucket.scope.len())
    };
    if missing == 0 {
        parts.push(format!(
            "all {} directions{scope_words} clear {bound}",
            directions.len()
        ));
    } else {
        let weak: Vec<String> = directions
            .iter()
            .filter(|d| !d.identified)
            .map(|d| format!("{} (λ {})", d.words, short(d.eigenvalue)))
            .collect();
        parts.push(format!(
            "{identified} of {} directions{scope_words} clear {bound}; not identified: {}",
            directions.len(),
            weak.join("; ")
        ));
    }
    if imprecise {
        parts.push(format!(
            "worst-direction standard error {} exceeds the policy bound {}",
            bucket
                .metrics
                .worst_se
                .map_or_else(|| "∞".to_owned(), short),
            worst_se_target.map_or_else(String::new, short)
        ));
    }
    if !bucket.absent_features.is_empty() {
        parts.push(format!(
            "absent (support 0), so nothing can be said about their weights: {}",
            bucket.absent_features.join(", ")
        ));
    }
    for c in &unmet_claims {
        parts.push(format!(
            "{} is {}{} ({}: {})",
            c.subject,
            c.value.map_or_else(|| "not measured".to_owned(), short),
            match (c.op.as_deref(), c.threshold) {
                (Some(op), Some(th)) => format!(", needs {op} {}", short(th)),
                _ => String::new(),
            },
            c.rule,
            c.outcome.name()
        ));
    }
    for t in &uncovered {
        parts.push(format!(
            "{} × {} crossed in {} of comparisons{}",
            t.features[0],
            t.features[1],
            t.crossed_share.map_or_else(|| "none".to_owned(), pct),
            match (t.op.as_deref(), t.threshold) {
                (Some(op), Some(th)) =>
                    format!(" (rule {} needs {} {op} {})", t.rule, t.subject, short(th)),
                _ => String::new(),
            }
        ));
    }
    Ok(AdequacyBucket {
        bucket: name.to_owned(),
        adequacy,
        n: bucket.n,
        threshold: Some(match threshold {
            Some((value, rule)) => ThresholdView {
                value,
                rule: Some(rule),
            },
            None => ThresholdView {
                value: bucket.metrics.lambda_max * crate::numerics::eigen::UNIDENTIFIED_RATIO,
                rule: None,
            },
        }),
        directions,
        identified,
        missing,
        worst_se: bucket.metrics.worst_se,
        worst_se_target,
        scope: bucket.scope.clone(),
        absent_features: bucket.absent_features.clone(),
        trade_offs,
        scoped_claims,
        audit,
        summary: parts.join("; "),
    })
}

fn answer(buckets: &[AdequacyBucket], evaluation: &Evaluation) -> AnswerView {
    let claimed: Vec<String> = {
        let mut pairs: Vec<String> = evaluation
            .findings
            .iter()
            .filter_map(|f| f.features.as_ref())
            .map(|[a, b]| format!("{a} vs {b}"))
            .collect();
        pairs.sort();
        pairs.dedup();
        pairs
    };
    let gaps: Vec<&AdequacyBucket> = buckets
        .iter()
        .filter(|b| b.adequacy != Adequacy::Adequate)
        .collect();
    let claims = if claimed.is_empty() {
        "every direction".to_owned()
    } else {
        format!("every direction, including {}", claimed.join(", "))
    };
    if buckets.is_empty() {
        return AnswerView {
            learnable: false,
            text: "No: the version has no comparisons.".to_owned(),
        };
    }
    if gaps.is_empty() {
        return AnswerView {
            learnable: true,
            text: format!(
                "Yes: in all {} buckets the data identifies {claims} at the policy's thresholds.",
                buckets.len()
            ),
        };
    }
    // Every bucket that falls short is named: a reviewer must not have to open the details to
    // learn which buckets are the problem.
    let first = gaps
        .iter()
        .map(|b| match b.adequacy {
            Adequacy::NoData => format!("'{}' has no comparisons", b.bucket),
            _ => {
                let weakest = b.directions.iter().find(|d| !d.identified);
                let pair = b
                    .trade_offs
                    .iter()
                    .find(|t| matches!(t.outcome, Outcome::Fail | Outcome::Waived | Outcome::Warn));
                match (weakest, pair) {
                    (Some(d), _) => format!(
                        "in '{}' the direction {} is not identified (λ {}{})",
                        b.bucket,
                        d.words,
                        short(d.eigenvalue),
                        b.threshold
                            .as_ref()
                            .and_then(|t| t.rule.as_ref().map(|_| format!(" < {}", short(t.value))))
                            .unwrap_or_default()
                    ),
                    (None, Some(t)) => format!(
                        "in '{}' {} and {} are crossed in only {} of comparisons",
                        b.bucket,
                        t.features[0],
                        t.features[1],
                        t.crossed_share.map_or_else(|| "none".to_owned(), pct)
                    ),
                    (None, None) => match b.scoped_claims.iter().find(|c| {
                        matches!(
                            c.outcome,
                            Outcome::Fail | Outcome::Waived | Outcome::Warn | Outcome::NoData
                        )
                    }) {
                        Some(c) => format!(
                            "in '{}' {} is {}{}",
                            b.bucket,
                            c.subject,
                            c.value.map_or_else(|| "not measured".to_owned(), short),
                            match (c.op.as_deref(), c.threshold) {
                                (Some(op), Some(th)) => format!(" (needs {op} {})", short(th)),
                                _ => String::new(),
                            }
                        ),
                        None => match (b.worst_se, b.worst_se_target) {
                            (se, Some(t)) if se.is_none_or(|se| se > t) => format!(
                                "in '{}' the worst-direction standard error is {} (bound {})",
                                b.bucket,
                                se.map_or_else(|| "∞".to_owned(), short),
                                short(t)
                            ),
                            _ => format!("'{}' falls short", b.bucket),
                        },
                    },
                }
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    AnswerView {
        learnable: false,
        text: format!(
            "No ({} of {} buckets fall short): {first}.",
            gaps.len(),
            buckets.len()
        ),
    }
}

/// Builds the design-adequacy report; `design` and `plan` come from
/// [`crate::report::solver_sections::design_sections`].
pub fn build_adequacy(
    inputs: &AdequacyInputs<'_>,
    design: Option<DesignSection>,
    plan: Option<PlanSection>,
) -> Result<AdequacyView, ViewError> {
    let identity = identity(&inputs.base)?;
    let features: Vec<String> = inputs
        .base
        .analysis
        .features
        .iter()
        .map(|f| f.name.clone())
        .collect();
    let buckets = bucket_names(inputs.base.analysis, inputs.base.evaluation)
        .iter()
        .map(|name| adequacy_bucket(inputs, name, &features))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AdequacyView {
        schema_version: REPORT_SCHEMA_VERSION,
        kind: ReportKind::DesignAdequacy,
        answer: answer(&buckets, inputs.base.evaluation),
        identity,
        gate: gate_view(inputs.base.evaluation),
        buckets,
        audits: audit_views(inputs.base.audits),
        waivers: inputs.base.evaluation.waivers.clone(),
        budget: inputs.budget,
        design,
        plan,
    })
}
