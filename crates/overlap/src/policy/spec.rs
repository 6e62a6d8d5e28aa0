//! The policy document (format version 1): its types, which keep the source location of every
//! rule, waiver and value. The parser that builds them from YAML is `parser`.
//!
//! Entry point: [`crate::policy::parse`]. Parsing checks *shape* only — YAML syntax, keys, types, enumerated
//! values, dates — and reports every shape problem it finds in one pass. Meaning (threshold ranges,
//! metric arguments, references between rules, waivers and the dataset) is `validate`'s job. The
//! accessors on [`Policy`] are what the CLI, the analysis and the budget planner read. Nothing here
//! evaluates rules or does I/O: the caller reads the file and passes its text.

use std::collections::BTreeSet;
use std::fmt;

use chrono::NaiveDate;
use serde::Serialize;

use crate::model::analysis::FitMode;
use crate::policy::metric::{Metric, MetricKind};
use crate::policy::source::{Loc, Located};

/// The policy format version this module reads.
pub const SUPPORTED_VERSION: u32 = 1;

/// A parsed policy. Only [`parse`](crate::policy::parse) builds one; it is always free of shape errors.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The path given to [`parse`](crate::policy::parse), used in every diagnostic and output location.
    pub file: String,
    /// SHA-256 of the policy file's bytes, lowercase hex.
    pub digest: String,
    pub version: u32,
    pub name: Located<String>,
    pub description: Option<Located<String>>,
    /// `baseline: NAME@V`, the version drift metrics compare against.
    pub baseline: Option<Located<BaselineRef>>,
    pub analysis: AnalysisSettings,
    /// Declared buckets, in file order.
    pub buckets: Vec<BucketSpec>,
    /// Rules, in file order (which is the order of findings).
    pub rules: Vec<Rule>,
    /// Waivers, in file order.
    pub waivers: Vec<Waiver>,
    /// Ids of rules dropped for shape errors; lint uses them so a waiver of such a rule is not
    /// also reported as naming an unknown rule. Always empty in a policy returned by [`parse`].
    pub(crate) incomplete_rule_ids: Vec<String>,
    /// How many rules were dropped for shape errors (lint only; 0 after [`parse`]).
    pub(crate) dropped_rules: usize,
}

/// `NAME@VERSION` of a dataset version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct BaselineRef {
    pub dataset: String,
    pub version: u32,
}

impl fmt::Display for BaselineRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.dataset, self.version)
    }
}

/// The `analysis:` section: how the dataset must be analysed for this policy. `None` means the
/// analysis default.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnalysisSettings {
    pub ridge: Option<Located<f64>>,
    pub info_ridge: Option<Located<f64>>,
    pub fit: Option<Located<FitMode>>,
}

/// One entry of `buckets:`.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketSpec {
    pub name: Located<String>,
    /// Harm weight h_k for the budget planner (default 1).
    pub harm: Located<f64>,
    /// A required bucket without data is a deny finding (default true).
    pub required: bool,
}

/// A comparison operator between a metric value and a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Ge,
    Gt,
    Le,
    Lt,
}

impl Op {
    pub const ALL: [Op; 4] = [Op::Ge, Op::Gt, Op::Le, Op::Lt];

    pub const fn symbol(self) -> &'static str {
        match self {
            Op::Ge => ">=",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Lt => "<",
        }
    }

    pub fn from_symbol(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.symbol() == s)
    }

    /// `value op threshold`. Infinite values compare as expected (+∞ fails `<=`).
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::Ge => value >= threshold,
            Op::Gt => value > threshold,
            Op::Le => value <= threshold,
            Op::Lt => value < threshold,
        }
    }

    /// `>=` and `>` bound the value from below.
    pub const fn is_lower_bound(self) -> bool {
        matches!(self, Op::Ge | Op::Gt)
    }

    /// Signed distance from the threshold towards the passing side: positive means room to spare.
    pub fn margin(self, value: f64, threshold: f64) -> f64 {
        if self.is_lower_bound() {
            value - threshold
        } else {
            threshold - value
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl Serialize for Op {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.symbol())
    }
}

/// What happens when a rule fails: `deny` fails the gate, `warn` does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleSeverity {
    #[default]
    Deny,
    Warn,
}

impl RuleSeverity {
    pub const fn name(self) -> &'static str {
        match self {
            RuleSeverity::Deny => "deny",
            RuleSeverity::Warn => "warn",
        }
    }
}

/// Which buckets a rule applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum BucketSelection {
    /// `"*"` or absent: every bucket with data and every declared bucket.
    All,
    Listed(Vec<Located<String>>),
}

/// A per-bucket threshold override (`thresholds: { self-harm: 0.05 }`).
#[derive(Debug, Clone, PartialEq)]
pub struct BucketThreshold {
    pub bucket: Located<String>,
    pub threshold: Located<f64>,
}

/// One rule of `rules:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: Located<String>,
    pub description: Option<Located<String>>,
    pub metric: Located<Metric>,
    pub op: Located<Op>,
    pub threshold: Located<f64>,
    pub thresholds: Vec<BucketThreshold>,
    pub buckets: BucketSelection,
    pub severity: Located<RuleSeverity>,
    /// As written: for pair metrics exactly two features (order does not matter when matching);
    /// for overlap metrics the scope S (DESIGN §5); for `support`, the features to check.
    pub features: Option<Located<Vec<Located<String>>>>,
    /// For intervention metrics; `None` means every intervention used in the bucket.
    pub interventions: Option<Located<Vec<Located<String>>>>,
    /// For `arm_share`.
    pub arm: Option<Located<String>>,
    /// Where the rule's mapping starts (its first key): the location of its findings.
    pub loc: Loc,
    /// Optional keys that had shape errors and were dropped (lint only; empty after [`parse`]).
    pub(crate) broken_keys: Vec<&'static str>,
}

impl Rule {
    /// Whether the rule applies to `bucket`.
    pub fn selects(&self, bucket: &str) -> bool {
        match &self.buckets {
            BucketSelection::All => true,
            BucketSelection::Listed(list) => list.iter().any(|b| b.value == bucket),
        }
    }

    /// The threshold for `bucket`: its override, else the rule's threshold.
    pub fn threshold_for(&self, bucket: &str) -> f64 {
        self.thresholds
            .iter()
            .find(|t| t.bucket.value == bucket)
            .map_or(self.threshold.value, |t| t.threshold.value)
    }

    /// The pair of features of a pair metric, in the order written.
    pub fn feature_pair(&self) -> Option<[&str; 2]> {
        if self.metric.value.kind() != MetricKind::FeaturePair {
            return None;
        }
        match self.features.as_ref().map(|f| f.value.as_slice()) {
            Some([a, b]) => Some([a.value.as_str(), b.value.as_str()]),
            _ => None,
        }
    }

    /// The scope of an overlap metric (`features:` on lambda_min, worst_se, …), as written.
    pub fn scope(&self) -> Option<Vec<String>> {
        if !self.metric.value.accepts_scope() {
            return None;
        }
        self.feature_names()
    }

    /// Every feature named in `features:`, as written.
    pub fn feature_names(&self) -> Option<Vec<String>> {
        self.features
            .as_ref()
            .map(|f| f.value.iter().map(|x| x.value.clone()).collect())
    }
}

/// One entry of `waivers:`. A waiver is valid through its `expires` date (inclusive).
#[derive(Debug, Clone, PartialEq)]
pub struct Waiver {
    pub rule: Located<String>,
    pub bucket: Located<String>,
    pub owner: Located<String>,
    pub reason: Located<String>,
    pub ticket: Located<String>,
    pub expires: Located<NaiveDate>,
    pub loc: Loc,
}

impl Waiver {
    /// Expired once `today` is after the expiry date.
    pub fn is_expired(&self, today: NaiveDate) -> bool {
        today > self.expires.value
    }
}

/// The information target T_k of a bucket for the budget planner (DESIGN §2 "Budget plan").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InformationTarget {
    /// Required λ_min of the summed information S_k.
    pub target: f64,
    /// The rule that sets it (the strictest one).
    pub rule: String,
    pub metric: Metric,
}

impl Policy {
    pub fn name(&self) -> &str {
        &self.name.value
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id.value == id)
    }

    pub fn bucket_spec(&self, bucket: &str) -> Option<&BucketSpec> {
        self.buckets.iter().find(|b| b.name.value == bucket)
    }

    /// Harm weight h_k of a bucket: its declared `harm`, else 1.
    pub fn harm_weight(&self, bucket: &str) -> f64 {
        self.bucket_spec(bucket).map_or(1.0, |b| b.harm.value)
    }

    /// The `analysis:` settings the dataset must be analysed with.
    pub fn analysis_settings(&self) -> &AnalysisSettings {
        &self.analysis
    }

    /// Whether a rule uses a drift metric (then the caller must compute drift against
    /// [`Policy::baseline`]).
    pub fn needs_drift(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.metric.value.kind() == MetricKind::Drift)
    }

    pub fn baseline(&self) -> Option<&BaselineRef> {
        self.baseline.as_ref().map(|b| &b.value)
    }

    /// Feature pairs the analysis must report quadrant coverage for, sorted, without repeats.
    pub fn feature_pairs(&self) -> Vec<[String; 2]> {
        let pairs: BTreeSet<[String; 2]> = self
            .rules
            .iter()
            .filter_map(Rule::feature_pair)
            .map(|[a, b]| {
                if a <= b {
                    [a.to_owned(), b.to_owned()]
                } else {
                    [b.to_owned(), a.to_owned()]
                }
            })
            .collect();
        pairs.into_iter().collect()
    }

    /// Scopes the analysis must report overlap for (rules' `features:` on overlap metrics), each
    /// sorted, without repeats.
    pub fn scopes(&self) -> Vec<Vec<String>> {
        let scopes: BTreeSet<Vec<String>> = self
            .rules
            .iter()
            .filter_map(Rule::scope)
            .map(|mut scope| {
                scope.sort();
                scope.dedup();
                scope
            })
            .collect();
        scopes.into_iter().collect()
    }

    /// The information target T_k for `bucket`: `worst_se <= ε` gives 1/ε²,
    /// `total_information >= τ` gives τ; the strictest (largest) over the deny rules that select the bucket. Warn
    /// rules do not set targets: the planner plans for what the gate enforces.
    pub fn information_target(&self, bucket: &str) -> Option<InformationTarget> {
        let mut best: Option<InformationTarget> = None;
        for rule in &self.rules {
            // A scoped rule bounds a Schur complement the planner does not optimise; the
            // planner says so per rule.
            if rule.severity.value != RuleSeverity::Deny
                || !rule.selects(bucket)
                || rule.scope().is_some()
            {
                continue;
            }
            let t = rule.threshold_for(bucket);
            let target = match (rule.metric.value, rule.op.value.is_lower_bound()) {
                (Metric::WorstSe, false) if t > 0.0 => 1.0 / (t * t),
                (Metric::TotalInformation, true) => t,
                _ => continue,
            };
            if target.is_finite() && best.as_ref().is_none_or(|b| target > b.target) {
                best = Some(InformationTarget {
                    target,
                    rule: rule.id.value.clone(),
                    metric: rule.metric.value,
                });
            }
        }
        best
    }
}
