//! Policy diagnostics: problems found in a policy file, as values with a stable code, a severity,
//! a `FILE:LINE:COL` location and an optional help line.
//!
//! Owns the catalogue of codes ([`code`]); every code is documented under its own heading in
//! `docs/diagnostics.md` and a test keeps the two in step. Rendering for people is the `Display`
//! impl (rustc style); machines use the `Serialize` form. Diagnostics are never printed here: the CLI
//! decides where they go.

use std::fmt;

use serde::Serialize;

use crate::policy::source::Loc;

/// How serious a diagnostic is: an error makes the policy unusable, a warning does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem in a policy file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable kebab-case code, e.g. `policy/unknown-metric` (see [`code`]).
    pub code: &'static str,
    pub severity: Severity,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, file: &str, loc: Loc, message: String) -> Self {
        Self::new(code, Severity::Error, file, loc, message)
    }

    pub fn warning(code: &'static str, file: &str, loc: Loc, message: String) -> Self {
        Self::new(code, Severity::Warning, file, loc, message)
    }

    fn new(code: &'static str, severity: Severity, file: &str, loc: Loc, message: String) -> Self {
        Self {
            code,
            severity,
            file: file.to_owned(),
            line: loc.line,
            column: loc.column,
            message,
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// ```text
    /// error[policy/unknown-metric]: metric 'lamda_min' does not exist
    ///   --> gate.yaml:7:13
    ///   = help: did you mean 'lambda_min'?
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]: {}", self.severity, self.code, self.message)?;
        write!(f, "\n  --> {}:{}:{}", self.file, self.line, self.column)?;
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

/// Sorts diagnostics by position, then code, so output order does not depend on check order.
pub(crate) fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.line, a.column, a.code, &a.message).cmp(&(b.line, b.column, b.code, &b.message))
    });
}

/// `did you mean 'x'?` for the candidate closest to `word`, if one is close enough.
///
/// Closeness is the Damerau–Levenshtein distance on lowercase text (so a swapped pair of letters
/// or `-` for `_` counts as one edit), accepted up to a third of the candidate's length (at
/// least 1): close enough to catch typos, far enough not to suggest unrelated names. Ties go to
/// the earlier candidate so the hint is deterministic.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = word.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if candidate == word {
            continue;
        }
        let distance = strsim::damerau_levenshtein(&lower, &candidate.to_lowercase());
        let limit = (candidate.chars().count() / 3).max(1);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| format!("did you mean '{c}'?"))
}

/// The stable diagnostic codes. Adding one means documenting it in `docs/diagnostics.md` and
/// adding a fixture that triggers it; renaming one breaks users' tooling and is not done.
pub mod code {
    /// The file is not valid YAML (or holds more than one document).
    pub const YAML_SYNTAX: &str = "policy/yaml-syntax";
    /// A mapping repeats a key.
    pub const DUPLICATE_KEY: &str = "policy/duplicate-key";
    /// A key the policy format does not define.
    pub const UNKNOWN_KEY: &str = "policy/unknown-key";
    /// A required key is absent.
    pub const MISSING_KEY: &str = "policy/missing-key";
    /// A value has the wrong YAML type (e.g. a quoted number).
    pub const WRONG_TYPE: &str = "policy/wrong-type";
    /// `version` is not a supported policy format version.
    pub const UNSUPPORTED_VERSION: &str = "policy/unsupported-version";
    /// `metric` names no known metric.
    pub const UNKNOWN_METRIC: &str = "policy/unknown-metric";
    /// `op` is not one of `>=`, `>`, `<=`, `<`.
    pub const INVALID_OPERATOR: &str = "policy/invalid-operator";
    /// `severity` is not `deny` or `warn`.
    pub const INVALID_SEVERITY: &str = "policy/invalid-severity";
    /// `analysis.fit` is not `pooled` or `per-bucket`.
    pub const INVALID_FIT: &str = "policy/invalid-fit";
    /// A waiver's `expires` is not a `YYYY-MM-DD` date.
    pub const INVALID_DATE: &str = "policy/invalid-date";
    /// `baseline` is not `NAME@VERSION`.
    pub const INVALID_BASELINE: &str = "policy/invalid-baseline";
    /// A rule id has characters outside `[A-Za-z0-9._-]`.
    pub const INVALID_RULE_ID: &str = "policy/invalid-rule-id";
    /// A number is `.nan` or `.inf`.
    pub const NON_FINITE_NUMBER: &str = "policy/non-finite-number";
    /// A list that must name something is empty.
    pub const EMPTY_LIST: &str = "policy/empty-list";
    /// `features` is not a list of two different feature names.
    pub const INVALID_FEATURE_PAIR: &str = "policy/invalid-feature-pair";
    /// `features` of an overlap metric or `support` is empty or names a feature twice.
    pub const INVALID_SCOPE: &str = "policy/invalid-scope";
    /// A threshold lies outside the range its metric can take.
    pub const THRESHOLD_OUT_OF_RANGE: &str = "policy/threshold-out-of-range";
    /// A setting (`harm`, `ridge`, `info_ridge`) lies outside its valid range.
    pub const OUT_OF_RANGE: &str = "policy/out-of-range";
    /// The operator asks for the opposite of what is good for the metric.
    pub const OP_DIRECTION: &str = "policy/op-direction";
    /// The metric needs `features`, or `arm`, and the rule does not give it.
    pub const MISSING_ARGUMENT: &str = "policy/missing-argument";
    /// `features`, `interventions` or `arm` given for a metric that does not use it.
    pub const IRRELEVANT_KEY: &str = "policy/irrelevant-key";
    /// A drift metric is used but the policy names no `baseline`.
    pub const MISSING_BASELINE: &str = "policy/missing-baseline";
    /// `baseline` is set but no rule uses a drift metric.
    pub const UNUSED_BASELINE: &str = "policy/unused-baseline";
    /// Two rules share an id.
    pub const DUPLICATE_RULE_ID: &str = "policy/duplicate-rule-id";
    /// A list repeats an entry.
    pub const DUPLICATE_ENTRY: &str = "policy/duplicate-entry";
    /// `thresholds` names a bucket the rule does not select.
    pub const THRESHOLD_BUCKET_NOT_SELECTED: &str = "policy/threshold-bucket-not-selected";
    /// A waiver names a rule id that does not exist.
    pub const WAIVER_UNKNOWN_RULE: &str = "policy/waiver-unknown-rule";
    /// A waiver's bucket is not selected by its rule.
    pub const WAIVER_BUCKET_NOT_SELECTED: &str = "policy/waiver-bucket-not-selected";
    /// Two waivers cover the same rule and bucket.
    pub const DUPLICATE_WAIVER: &str = "policy/duplicate-waiver";
    /// An arm is not written in its canonical form (sides sorted, joined by `/`).
    pub const NON_CANONICAL_ARM: &str = "policy/non-canonical-arm";
    /// The policy has no rules.
    pub const NO_RULES: &str = "policy/no-rules";
    /// A feature the dataset's schema does not have.
    pub const UNKNOWN_FEATURE: &str = "policy/unknown-feature";
    /// A bucket that is neither in the dataset nor declared under `buckets:`.
    pub const UNKNOWN_BUCKET: &str = "policy/unknown-bucket";
    /// A declared bucket that has no comparisons in the dataset.
    pub const BUCKET_WITHOUT_DATA: &str = "policy/bucket-without-data";
    /// An intervention the dataset's registry does not have.
    pub const UNKNOWN_INTERVENTION: &str = "policy/unknown-intervention";
    /// An arm that no comparison of the dataset is in.
    pub const ARM_WITHOUT_DATA: &str = "policy/arm-without-data";

    /// Every code, in documentation order.
    pub const ALL: &[&str] = &[
        YAML_SYNTAX,
        DUPLICATE_KEY,
        UNKNOWN_KEY,
        MISSING_KEY,
        WRONG_TYPE,
        UNSUPPORTED_VERSION,
        UNKNOWN_METRIC,
        INVALID_OPERATOR,
        INVALID_SEVERITY,
        INVALID_FIT,
        INVALID_DATE,
        INVALID_BASELINE,
        INVALID_RULE_ID,
        NON_FINITE_NUMBER,
        EMPTY_LIST,
        INVALID_FEATURE_PAIR,
        INVALID_SCOPE,
        THRESHOLD_OUT_OF_RANGE,
        OUT_OF_RANGE,
        OP_DIRECTION,
        MISSING_ARGUMENT,
        IRRELEVANT_KEY,
        MISSING_BASELINE,
        UNUSED_BASELINE,
        DUPLICATE_RULE_ID,
        DUPLICATE_ENTRY,
        THRESHOLD_BUCKET_NOT_SELECTED,
        WAIVER_UNKNOWN_RULE,
        WAIVER_BUCKET_NOT_SELECTED,
        DUPLICATE_WAIVER,
        NON_CANONICAL_ARM,
        NO_RULES,
        UNKNOWN_FEATURE,
        UNKNOWN_BUCKET,
        BUCKET_WITHOUT_DATA,
        UNKNOWN_INTERVENTION,
        ARM_WITHOUT_DATA,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_rustc() {
        let d = Diagnostic::error(
            code::UNKNOWN_METRIC,
            "gate.yaml",
            Loc::new(7, 13),
            "metric 'lamda_min' does not exist".into(),
        )
        .with_help("did you mean 'lambda_min'?");
        assert_eq!(
            d.to_string(),
            "error[policy/unknown-metric]: metric 'lamda_min' does not exist\n  --> gate.yaml:7:13\n  = help: did you mean 'lambda_min'?"
        );
    }

    #[test]
    fn suggestions() {
        let names = ["lambda_min", "lambda_max", "n", "worst_se"];
        assert_eq!(
            did_you_mean("lamda_min", names).as_deref(),
            Some("did you mean 'lambda_min'?")
        );
        assert_eq!(
            did_you_mean("lambda-min", names).as_deref(),
            Some("did you mean 'lambda_min'?")
        );
        assert_eq!(did_you_mean("throughput", names), None);
        assert_eq!(
            did_you_mean("m", names).as_deref(),
            Some("did you mean 'n'?")
        );
    }

    #[test]
    fn codes_are_unique_and_kebab_case() {
        let mut seen = std::collections::BTreeSet::new();
        for c in code::ALL {
            assert!(seen.insert(*c), "duplicate code {c}");
            let rest = c.strip_prefix("policy/").unwrap();
            assert!(
                rest.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'),
                "{c}"
            );
        }
    }
}
