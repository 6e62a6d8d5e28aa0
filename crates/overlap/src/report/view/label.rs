//! The nutrition label: its badges, alerts and the builder.

use super::*;
use crate::policy::{Evaluation, GateVerdict, Outcome};

fn badges(view: &LabelView) -> Vec<Badge> {
    let mut out = Vec::new();
    out.push(Badge {
        id: "gate".into(),
        label: "gate".into(),
        value: match view.gate.verdict {
            GateVerdict::Pass => "pass".into(),
            GateVerdict::Fail => format!("fail ({} failing)", view.gate.counts.fail),
        },
        tone: match view.gate.verdict {
            GateVerdict::Pass => Tone::Good,
            GateVerdict::Fail => Tone::Bad,
        },
    });

    // Overlap: the bucket with the smallest λ_min relative to its threshold.
    let weakest = view
        .buckets
        .iter()
        .filter_map(|b| b.metrics.as_ref().map(|m| (b, m)))
        .min_by(|(ba, ma), (bb, mb)| {
            let ra = ma.metrics.lambda_min / ba.lambda_min_threshold.unwrap_or(1.0);
            let rb = mb.metrics.lambda_min / bb.lambda_min_threshold.unwrap_or(1.0);
            ra.total_cmp(&rb).then_with(|| ba.bucket.cmp(&bb.bucket))
        });
    if let Some((b, m)) = weakest {
        let below = b
            .lambda_min_threshold
            .is_some_and(|t| m.metrics.lambda_min < t);
        out.push(Badge {
            id: "overlap".into(),
            label: "weakest overlap".into(),
            value: match b.lambda_min_threshold {
                Some(t) => format!(
                    "{}: λ_min {} ({} {})",
                    b.bucket,
                    short(m.metrics.lambda_min),
                    if below { "<" } else { "≥" },
                    short(t)
                ),
                None => format!("{}: λ_min {}", b.bucket, short(m.metrics.lambda_min)),
            },
            tone: if m.metrics.unidentified || below {
                Tone::Bad
            } else {
                Tone::Good
            },
        });
    }

    let coverage = view
        .buckets
        .iter()
        .filter_map(|b| {
            b.metrics
                .as_ref()
                .and_then(|m| m.coverage.as_ref())
                .map(|c| (b, c))
        })
        .min_by(|(ba, ca), (bb, cb)| {
            ca.crossed_share
                .total_cmp(&cb.crossed_share)
                .then_with(|| ba.bucket.cmp(&bb.bucket))
        });
    if let Some((b, c)) = coverage {
        let pair_failing = b
            .slos
            .iter()
            .any(|s| s.subject.starts_with("min_quadrant_share") && s.outcome == Outcome::Fail);
        out.push(Badge {
            id: "coverage".into(),
            label: "least crossed pair".into(),
            value: format!(
                "{}: {} × {} crossed in {} of comparisons",
                b.bucket,
                c.features[0],
                c.features[1],
                pct(c.crossed_share)
            ),
            tone: if pair_failing || c.crossed_share == 0.0 {
                Tone::Bad
            } else if c.crossed_share < 0.05 {
                Tone::Warn
            } else {
                Tone::Good
            },
        });
    }

    let count = |s: crate::policy::findings::WaiverState| {
        view.waivers.iter().filter(|w| w.state == s).count()
    };
    let (active, unused, expired) = (
        count(crate::policy::findings::WaiverState::Active),
        count(crate::policy::findings::WaiverState::Unused),
        count(crate::policy::findings::WaiverState::Expired),
    );
    out.push(Badge {
        id: "waivers".into(),
        label: "waivers".into(),
        value: if view.waivers.is_empty() {
            "none".into()
        } else {
            format!("{active} active, {unused} unused, {expired} expired")
        },
        tone: if expired > 0 {
            Tone::Bad
        } else if active > 0 || unused > 0 {
            Tone::Warn
        } else {
            Tone::Good
        },
    });

    let audited: u64 = view.audits.iter().map(|a| a.audited).sum();
    let illusory: Vec<&str> = view
        .audits
        .iter()
        .filter(|a| a.illusory_overlap == Some(true))
        .map(|a| a.bucket.as_str())
        .collect();
    out.push(Badge {
        id: "audits".into(),
        label: "audits".into(),
        value: if !illusory.is_empty() {
            format!(
                "{audited} audited; ILLUSORY OVERLAP in {}",
                illusory.join(", ")
            )
        } else if audited == 0 {
            "none recorded".into()
        } else {
            let worst = view
                .audits
                .iter()
                .filter_map(|a| a.pass_rate.map(|r| (r, a)))
                .min_by(|(ra, a), (rb, b)| ra.total_cmp(rb).then_with(|| a.bucket.cmp(&b.bucket)));
            match worst {
                Some((r, a)) => format!(
                    "{audited} audited; lowest pass rate {} ({})",
                    pct(r),
                    a.bucket
                ),
                None => format!("{audited} audited"),
            }
        },
        tone: if view.audits.iter().any(|a| a.illusory_overlap == Some(true)) {
            Tone::Bad
        } else if audited == 0 {
            Tone::Info
        } else {
            Tone::Good
        },
    });
    out
}

fn alerts(view: &LabelView, evaluation: &Evaluation) -> Vec<Alert> {
    let mut out = Vec::new();
    for f in &evaluation.findings {
        let bucket = (f.bucket != "*").then(|| f.bucket.clone());
        let (tone, message) = match f.outcome {
            Outcome::Fail => (Tone::Bad, f.message.clone()),
            Outcome::Warn => (Tone::Warn, f.message.clone()),
            Outcome::Waived => {
                let by = f.waiver.as_ref().map_or_else(String::new, |w| {
                    format!(
                        " (waived by {}, {}, until {})",
                        w.owner,
                        w.ticket,
                        w.expires.format("%Y-%m-%d")
                    )
                });
                (Tone::Warn, format!("waived: {}{by}", f.message))
            }
            Outcome::Pass | Outcome::NoData => continue,
        };
        out.push(Alert {
            tone,
            bucket,
            message,
        });
    }
    for b in &view.buckets {
        if let Some(m) = &b.metrics {
            if m.metrics.unidentified {
                out.push(Alert {
                    tone: Tone::Bad,
                    bucket: Some(b.bucket.clone()),
                    message: format!(
                        "the information of '{}' is singular: the direction {} is not identified at all",
                        b.bucket, m.weakest_direction_words
                    ),
                });
            }
        }
    }
    for f in &view.identity.features {
        if f.never_varies {
            out.push(Alert {
                tone: Tone::Warn,
                bucket: None,
                message: format!(
                    "feature '{}' never varies in this version: its weight cannot be learned",
                    f.name
                ),
            });
        }
    }
    for i in &view.interventions {
        if !i.in_registry {
            out.push(Alert {
                tone: Tone::Warn,
                bucket: None,
                message: format!("intervention '{}' is not in the registry", i.name),
            });
        }
        for b in &i.buckets {
            if b.attempts == 0 {
                out.push(Alert {
                    tone: Tone::Info,
                    bucket: Some(b.bucket.clone()),
                    message: format!(
                        "intervention '{}' has no acceptance observations in '{}'",
                        i.name, b.bucket
                    ),
                });
            }
        }
    }
    for a in &view.audits {
        if a.illusory_overlap == Some(true) {
            out.push(Alert {
                tone: Tone::Bad,
                bucket: Some(a.bucket.clone()),
                message: format!(
                    "ILLUSORY OVERLAP in '{}': of {} audited comparisons drawn along the weakest \
                     direction only {} were judged meaningful and on-policy (below {}), so the overlap \
                     measured there may not be real",
                    a.bucket,
                    a.along_direction_audited,
                    a.along_direction_pass_rate.map_or_else(|| "—".to_owned(), pct),
                    pct(a.min_pass_rate)
                ),
            });
        }
    }
    // Features absent from a bucket that vary elsewhere: a feature that never varies in the
    // version has its own alert above, so it is not repeated per bucket.
    let never_varies: Vec<&str> = view
        .identity
        .features
        .iter()
        .filter(|f| f.never_varies)
        .map(|f| f.name.as_str())
        .collect();
    for b in &view.buckets {
        let Some(m) = &b.metrics else { continue };
        let absent: Vec<&str> = m
            .absent_features
            .iter()
            .map(String::as_str)
            .filter(|f| !never_varies.contains(f))
            .collect();
        if !absent.is_empty() {
            out.push(Alert {
                tone: Tone::Warn,
                bucket: Some(b.bucket.clone()),
                message: format!(
                    "absent in '{}': {} never differ between the two responses (support 0), so \
                     nothing can be said about their weights there; overlap is measured on the other \
                     {} features",
                    b.bucket,
                    absent.join(", "),
                    m.scope.len()
                ),
            });
        }
    }
    if view.audits.iter().all(|a| a.audited == 0) {
        out.push(Alert {
            tone: Tone::Info,
            bucket: None,
            message:
                "no audits recorded: nobody has reviewed comparisons along the weakest directions"
                    .into(),
        });
    }
    // Most severe first; within a tone, the order above (findings in gate order) is kept.
    out.sort_by_key(|a| a.tone);
    out
}
/// Builds the nutrition label.
pub fn build_label(inputs: &ReportInputs<'_>) -> Result<LabelView, ViewError> {
    let identity = identity(inputs)?;
    let analysis = inputs.analysis;
    let evaluation = inputs.evaluation;
    let buckets = bucket_names(analysis, evaluation)
        .into_iter()
        .map(|name| {
            let findings = bucket_findings(evaluation, &name);
            let verdict = findings
                .iter()
                .map(|f| f.outcome)
                .min_by_key(|o| outcome_rank(*o));
            let metrics = analysis
                .buckets
                .iter()
                .find(|b| b.bucket == name && b.n > 0)
                .map(bucket_metrics);
            BucketView {
                lambda_min_threshold: lambda_min_threshold(&evaluation.rules, &name).map(|t| t.0),
                bucket: name,
                verdict,
                metrics,
                slos: findings.into_iter().map(slo_view).collect(),
            }
        })
        .collect();
    let mut view = LabelView {
        schema_version: REPORT_SCHEMA_VERSION,
        kind: ReportKind::NutritionLabel,
        identity,
        gate: gate_view(evaluation),
        badges: Vec::new(),
        alerts: Vec::new(),
        buckets,
        interventions: interventions_used(inputs),
        audits: audit_views(inputs.audits),
        waivers: evaluation.waivers.clone(),
        history: history(inputs),
    };
    view.badges = badges(&view);
    view.alerts = alerts(&view, evaluation);
    Ok(view)
}
