//! The gate's result as values: findings, their outcomes and evidence, rule and waiver
//! summaries, and the [`Evaluation`] they make up (the JSON API of `overlap gate --format json`,
//! versioned by [`EVALUATION_SCHEMA_VERSION`]). [`Evaluation::verdict`] decides pass or fail;
//! producing an evaluation is [`crate::policy::evaluate()`]'s job, showing one `render`'s.

use chrono::NaiveDate;
use serde::{Serialize, Serializer};

use crate::model::analysis::Quadrants;
use crate::model::named::NamedValues;
use crate::policy::metric::Metric;
use crate::policy::spec::{Op, RuleSeverity};

/// Version of the [`Evaluation`] JSON shape (`overlap gate --format json`). Bumped only on
/// breaking changes; adding fields is not one.
pub const EVALUATION_SCHEMA_VERSION: u32 = 1;

/// The result of one finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Pass,
    /// A deny finding that is not waived: fails the gate.
    Fail,
    /// A failure covered by an active waiver (shown with the waiver, never hidden).
    Waived,
    /// A failing warn rule, or an unused waiver.
    Warn,
    /// The metric has no value for this bucket (no comparisons, no observations).
    NoData,
}

impl Outcome {
    pub const fn name(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Waived => "waived",
            Outcome::Warn => "warn",
            Outcome::NoData => "no-data",
        }
    }
}

/// What produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// A rule evaluated on a bucket.
    Rule,
    /// A declared, required bucket without data (deny).
    RequiredBucket,
    /// A waiver past its expiry date (deny; it waives nothing).
    WaiverExpired,
    /// An active waiver that waived nothing (warn).
    WaiverUnused,
    /// No rule could be evaluated on any bucket: the gate checked nothing (deny).
    NothingChecked,
}

impl FindingKind {
    pub const fn name(self) -> &'static str {
        match self {
            FindingKind::Rule => "rule",
            FindingKind::RequiredBucket => "required-bucket",
            FindingKind::WaiverExpired => "waiver-expired",
            FindingKind::WaiverUnused => "waiver-unused",
            FindingKind::NothingChecked => "nothing-checked",
        }
    }
}

/// Pass or fail for the whole gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GateVerdict {
    Pass,
    Fail,
}

/// Who waived a finding, why, and until when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaiverRef {
    pub owner: String,
    pub reason: String,
    pub ticket: String,
    #[serde(serialize_with = "ser_date")]
    pub expires: NaiveDate,
    pub line: usize,
}

/// What supports a finding's value.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Evidence {
    /// Comparisons in the bucket (0 without data).
    pub n: u64,
    /// The weakest direction of Î_k in feature words, for eigenvalue metrics.
    pub weakest_direction: Option<String>,
    /// Î_k is singular: condition_number and worst_se count as +∞.
    pub unidentified: bool,
    /// Four-quadrant counts, for pair metrics.
    pub quadrants: Option<Quadrants>,
    /// Edit attempts and acceptances, for intervention metrics.
    pub attempts: Option<u64>,
    pub accepted: Option<u64>,
    /// Wilson 95% interval of a rate (acceptance or audit pass rate).
    pub interval: Option<[f64; 2]>,
    /// Audited comparisons, for audit_pass_rate.
    pub audited: Option<u64>,
    /// `NAME@V` compared against, for drift metrics.
    pub baseline: Option<String>,
    /// The scope S the overlap value is about (the rule's `features:` or the bucket's default
    /// scope), for overlap metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<String>>,
    /// Why the value is missing or counted as worst, in words.
    pub note: Option<String>,
}

/// One finding: a rule on a bucket (and feature pair, intervention or arm), or a gate-level
/// finding about a bucket or waiver.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// The rule's id (for waiver findings, the waived rule's id; `None` for required-bucket).
    pub rule: Option<String>,
    pub bucket: String,
    pub metric: Option<Metric>,
    pub features: Option<[String; 2]>,
    /// The features a scoped overlap rule or a `support` rule is about (DESIGN §5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<String>>,
    pub intervention: Option<String>,
    pub arm: Option<String>,
    pub outcome: Outcome,
    pub severity: RuleSeverity,
    pub op: Option<Op>,
    pub threshold: Option<f64>,
    /// `None` when there is no data, or when the value is +∞ (see `evidence.note`).
    pub value: Option<f64>,
    /// Distance from the threshold towards passing: positive = room to spare, negative = short.
    pub margin: Option<f64>,
    pub evidence: Evidence,
    /// The waiver that waived this finding (or, for waiver findings, the waiver itself).
    pub waiver: Option<WaiverRef>,
    pub message: String,
    /// Where in the policy file: the rule, the bucket declaration or the waiver.
    pub line: usize,
    pub column: usize,
}

impl Finding {
    /// A short subject such as `lambda_min`, `min_quadrant_share(length, refusal)` or
    /// `acceptance_rate(shorten)`.
    pub fn subject(&self) -> String {
        let Some(metric) = self.metric else {
            return self.kind.name().to_owned();
        };
        if let Some([a, b]) = &self.features {
            format!("{metric}({a}, {b})")
        } else if let Some(scope) = &self.scope {
            if metric == Metric::Support {
                format!("{metric}({})", scope.join(", "))
            } else {
                format!("{metric}[{}]", scope.join(", "))
            }
        } else if let Some(i) = &self.intervention {
            format!("{metric}({i})")
        } else if let Some(a) = &self.arm {
            format!("{metric}({a})")
        } else {
            metric.name().to_owned()
        }
    }

    /// A stable identity for deduplication across runs (SARIF fingerprints, test names).
    pub fn key(&self) -> String {
        let rule = self.rule.as_deref().unwrap_or("");
        let extra = match (&self.features, &self.intervention, &self.arm) {
            (Some([a, b]), _, _) => format!("/{a},{b}"),
            _ if self.scope.is_some() => format!(
                "/{}",
                self.scope
                    .iter()
                    .flatten()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            (_, Some(i), _) => format!("/{i}"),
            (_, _, Some(a)) => format!("/{a}"),
            _ => String::new(),
        };
        format!("{}:{rule}:{}{extra}", self.kind.name(), self.bucket)
    }
}

/// Findings per outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub waived: usize,
    pub warn: usize,
    #[serde(rename = "no-data")]
    pub no_data: usize,
}

/// A rule as the outputs describe it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleSummary {
    pub id: String,
    pub description: Option<String>,
    pub metric: Metric,
    pub op: Op,
    pub threshold: f64,
    /// Per-bucket overrides, in file order (a JSON object).
    pub thresholds: NamedValues,
    /// `None` for every bucket (`"*"`).
    pub buckets: Option<Vec<String>>,
    pub severity: RuleSeverity,
    /// The scope S of a scoped overlap rule (`features:` on lambda_min, worst_se, …), as
    /// written; absent for rules on the default scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<String>>,
    pub line: usize,
    pub column: usize,
}

/// How a waiver was used in this evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WaiverState {
    /// Waived at least one failure.
    Active,
    /// Valid but waived nothing.
    Unused,
    /// Past its expiry date: waives nothing.
    Expired,
}

/// A waiver and its state, so every output can list all waivers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaiverStatus {
    pub rule: String,
    pub bucket: String,
    pub owner: String,
    pub reason: String,
    pub ticket: String,
    #[serde(serialize_with = "ser_date")]
    pub expires: NaiveDate,
    pub state: WaiverState,
    pub line: usize,
    pub column: usize,
}

/// The policy an evaluation ran.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyIdentity {
    pub name: String,
    pub file: String,
    /// SHA-256 of the policy file, hex.
    pub digest: String,
}

/// The dataset version an evaluation ran on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetIdentity {
    pub name: String,
    pub version: u32,
    pub digest: String,
}

/// The complete, self-contained result of a gate run: renderers need nothing else.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub schema_version: u32,
    pub tool_version: String,
    pub policy: PolicyIdentity,
    pub dataset: DatasetIdentity,
    pub baseline: Option<String>,
    #[serde(serialize_with = "ser_date")]
    pub evaluated_on: NaiveDate,
    pub fail_on_warn: bool,
    /// `verdict(fail_on_warn)`.
    pub verdict: GateVerdict,
    pub counts: Counts,
    pub rules: Vec<RuleSummary>,
    pub waivers: Vec<WaiverStatus>,
    /// Required-bucket findings (by bucket), then rule findings (rule order in the file, then
    /// bucket, then feature pair / intervention / arm), then waiver findings (file order).
    pub findings: Vec<Finding>,
}

impl Evaluation {
    /// `Fail` when any finding fails; with `fail_on_warn`, also when any finding warns.
    pub fn verdict(&self, fail_on_warn: bool) -> GateVerdict {
        verdict_of(&self.findings, fail_on_warn)
    }
}

pub(crate) fn verdict_of(findings: &[Finding], fail_on_warn: bool) -> GateVerdict {
    let failing = findings
        .iter()
        .any(|f| f.outcome == Outcome::Fail || (fail_on_warn && f.outcome == Outcome::Warn));
    if failing {
        GateVerdict::Fail
    } else {
        GateVerdict::Pass
    }
}

fn ser_date<S: Serializer>(date: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&date.format("%Y-%m-%d"))
}
