//! Audit evidence per bucket from recorded samples and verdicts. Pure: observations in, figures out.
//!
//! Entry point: [`summarize`]. It owns the counting rule of the pass rate ([`PASS_RULE`]), the
//! Wilson 95% intervals, reviewer agreement (Cohen's κ per pair of reviewers) and the
//! illusory-overlap flag. It reads no store and prints nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::numerics::stats::{cohen_kappa, wilson_interval};

/// The counting rule, stated once for the docs, the CLI and the JSON output.
///
/// The unit is the comparison, not the verdict: verdicts on one comparison are not independent
/// evidence, and counting each would let a second reviewer narrow the interval without adding a
/// comparison. A verdict passes when it says both meaningful and on-policy; a comparison passes
/// when a strict majority of its reviewers' verdicts pass. A tie does not pass: experts split on
/// whether a comparison can be judged is itself evidence that it cannot be relied on.
pub const PASS_RULE: &str = "a comparison passes when a strict majority of its reviewers judged it both meaningful and on-policy; ties do not pass";

/// The default of `--min-pass-rate`.
pub const DEFAULT_MIN_PASS_RATE: f64 = 0.8;

/// A comparison in some sample of the version.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemObservation {
    /// The comparison's row key (unique within the version).
    pub comparison: i64,
    pub bucket: String,
    /// Drawn for its alignment with the weakest direction (not as a probe).
    pub along_direction: bool,
}

/// One reviewer's verdict on one comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictObservation {
    pub comparison: i64,
    pub reviewer: String,
    pub meaningful: bool,
    pub on_policy: bool,
}

/// A pass rate over comparisons with its Wilson 95% interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassRate {
    /// Comparisons with at least one verdict.
    pub audited: u64,
    pub passed: u64,
    pub pass_rate: Option<f64>,
    pub wilson_low: Option<f64>,
    pub wilson_high: Option<f64>,
}

impl PassRate {
    fn of(passed: u64, audited: u64) -> PassRate {
        let interval = wilson_interval(passed, audited);
        PassRate {
            audited,
            passed,
            pass_rate: (audited > 0).then(|| passed as f64 / audited as f64),
            wilson_low: interval.map(|i| i.lower),
            wilson_high: interval.map(|i| i.upper),
        }
    }
}

/// Agreement of two reviewers on the comparisons both judged (on the pass verdict).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewerAgreement {
    /// Sorted by name.
    pub reviewers: [String; 2],
    pub shared: u64,
    /// Share of shared comparisons with the same pass verdict.
    pub agreement: f64,
    /// Cohen's κ; `None` when both gave one and the same verdict throughout (κ is 0/0).
    pub kappa: Option<f64>,
}

/// Audit evidence of one bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketAuditStatus {
    pub bucket: String,
    /// Distinct comparisons in some sample of the version.
    pub sampled: u64,
    /// Comparisons with at least one verdict, and those passing under [`PASS_RULE`].
    #[serde(flatten)]
    pub overall: PassRate,
    /// Comparisons judged meaningful / on-policy by a strict majority of their reviewers.
    pub meaningful: u64,
    pub on_policy: u64,
    /// Comparisons whose reviewers split evenly on the pass verdict (counted as not passing).
    pub split: u64,
    pub verdicts: u64,
    pub reviewers: u64,
    /// The same figures over comparisons drawn along the weakest direction (probes excluded).
    pub along_direction: PassRate,
    pub agreement: Vec<ReviewerAgreement>,
    /// The pass rate along the weakest direction is below the threshold; `None` when nothing
    /// drawn along it has a verdict yet.
    pub illusory_overlap: Option<bool>,
}

#[derive(Default)]
struct Tally {
    yes: u32,
    no: u32,
    meaningful: u32,
    on_policy: u32,
}

fn majority(yes: u32, total: u32) -> bool {
    2 * yes > total
}

/// Figures for every bucket in `buckets` (output sorted by bucket, duplicates ignored); buckets
/// with no sample get zero counts. `min_pass_rate` must be in [0, 1] (the caller checks).
pub fn summarize(
    buckets: &[String],
    items: &[ItemObservation],
    verdicts: &[VerdictObservation],
    min_pass_rate: f64,
) -> Vec<BucketAuditStatus> {
    let names: BTreeSet<&str> = buckets
        .iter()
        .map(String::as_str)
        .chain(items.iter().map(|i| i.bucket.as_str()))
        .collect();
    // comparison → (bucket, along direction in any sample)
    let mut comparisons: BTreeMap<i64, (&str, bool)> = BTreeMap::new();
    for i in items {
        let e = comparisons
            .entry(i.comparison)
            .or_insert((i.bucket.as_str(), false));
        e.1 |= i.along_direction;
    }
    // comparison → reviewer → pass (one verdict per reviewer and comparison by construction;
    // a repeated pair keeps the first).
    let mut by_comparison: BTreeMap<i64, BTreeMap<&str, &VerdictObservation>> = BTreeMap::new();
    for v in verdicts {
        by_comparison
            .entry(v.comparison)
            .or_default()
            .entry(v.reviewer.as_str())
            .or_insert(v);
    }
    names
        .into_iter()
        .map(|bucket| {
            let in_bucket: Vec<(i64, bool)> = comparisons
                .iter()
                .filter(|(_, (b, _))| *b == bucket)
                .map(|(c, (_, along))| (*c, *along))
                .collect();
            let (mut audited, mut passed, mut along_audited, mut along_passed) = (0, 0, 0, 0);
            let (mut meaningful, mut on_policy, mut split, mut n_verdicts) = (0, 0, 0, 0);
            let mut reviewers: BTreeSet<&str> = BTreeSet::new();
            let mut pairs: BTreeMap<(&str, &str), Vec<(bool, bool)>> = BTreeMap::new();
            for (c, along) in &in_bucket {
                let Some(judged) = by_comparison.get(c) else {
                    continue;
                };
                let mut t = Tally::default();
                for v in judged.values() {
                    if v.meaningful && v.on_policy {
                        t.yes += 1;
                    } else {
                        t.no += 1;
                    }
                    t.meaningful += u32::from(v.meaningful);
                    t.on_policy += u32::from(v.on_policy);
                }
                let total = t.yes + t.no;
                let pass = majority(t.yes, total);
                audited += 1;
                n_verdicts += u64::from(total);
                passed += u64::from(pass);
                meaningful += u64::from(majority(t.meaningful, total));
                on_policy += u64::from(majority(t.on_policy, total));
                split += u64::from(t.yes == t.no);
                if *along {
                    along_audited += 1;
                    along_passed += u64::from(pass);
                }
                reviewers.extend(judged.keys().copied());
                // BTreeMap keys are sorted, so (r1, r2) has r1 < r2.
                let list: Vec<(&str, bool)> = judged
                    .iter()
                    .map(|(r, v)| (*r, v.meaningful && v.on_policy))
                    .collect();
                for (x, (r1, p1)) in list.iter().enumerate() {
                    for (r2, p2) in &list[x + 1..] {
                        pairs.entry((r1, r2)).or_default().push((*p1, *p2));
                    }
                }
            }
            let along_direction = PassRate::of(along_passed, along_audited);
            let illusory_overlap = along_direction.pass_rate.map(|r| r < min_pass_rate);
            BucketAuditStatus {
                bucket: bucket.to_string(),
                sampled: in_bucket.len() as u64,
                overall: PassRate::of(passed, audited),
                meaningful,
                on_policy,
                split,
                verdicts: n_verdicts,
                reviewers: reviewers.len() as u64,
                along_direction,
                agreement: pairs
                    .into_iter()
                    .map(|((a, b), v)| ReviewerAgreement {
                        reviewers: [a.to_string(), b.to_string()],
                        shared: v.len() as u64,
                        agreement: v.iter().filter(|(x, y)| x == y).count() as f64 / v.len() as f64,
                        kappa: cohen_kappa(&v),
                    })
                    .collect(),
                illusory_overlap,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(c: i64, bucket: &str, along: bool) -> ItemObservation {
        ItemObservation {
            comparison: c,
            bucket: bucket.into(),
            along_direction: along,
        }
    }

    fn verdict(c: i64, r: &str, m: bool, p: bool) -> VerdictObservation {
        VerdictObservation {
            comparison: c,
            reviewer: r.into(),
            meaningful: m,
            on_policy: p,
        }
    }

    #[test]
    fn majority_with_ties_failing() {
        let items = vec![item(1, "b", true), item(2, "b", true), item(3, "b", false)];
        let verdicts = vec![
            // 1: two of three pass → passes.
            verdict(1, "x", true, true),
            verdict(1, "y", true, true),
            verdict(1, "z", false, true),
            // 2: one of two → tie → does not pass.
            verdict(2, "x", true, true),
            verdict(2, "y", true, false),
            // 3: a probe that passes.
            verdict(3, "x", true, true),
        ];
        let s = summarize(&["b".into(), "empty".into()], &items, &verdicts, 0.8);
        assert_eq!(s.len(), 2);
        let b = &s[0];
        assert_eq!((b.sampled, b.overall.audited, b.overall.passed), (3, 3, 2));
        assert_eq!(b.split, 1);
        assert_eq!(b.meaningful, 3);
        assert_eq!(b.on_policy, 2);
        assert_eq!(b.verdicts, 6);
        assert_eq!(b.reviewers, 3);
        assert_eq!(b.along_direction.audited, 2);
        assert_eq!(b.along_direction.pass_rate, Some(0.5));
        assert_eq!(b.illusory_overlap, Some(true));
        // x/y share 1 and 2: pass verdicts (T,T), (T,F).
        let xy = &b.agreement[0];
        assert_eq!(xy.reviewers, ["x".to_string(), "y".to_string()]);
        assert_eq!(xy.shared, 2);
        assert_eq!(xy.agreement, 0.5);
        assert_eq!(xy.kappa, Some(0.0));
        let e = &s[1];
        assert_eq!(e.overall.audited, 0);
        assert_eq!(e.overall.pass_rate, None);
        assert_eq!(e.illusory_overlap, None);
    }
}
