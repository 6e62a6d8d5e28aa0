//! Semantic checks of a parsed policy, optionally against a dataset: every problem is collected,
//! none stops the pass.
//!
//! Entry points: [`validate`] (a parsed policy) and [`lint`] (text in, every diagnostic out:
//! shape problems from `spec` together with these checks, for `overlap policy lint`). Checks
//! that need the dataset (unknown features, buckets, interventions, arms) run only when a
//! [`DatasetContext`] is given. Nothing here evaluates rules against data.

use std::collections::BTreeSet;

use crate::model::analysis::VersionAnalysis;
use crate::policy::diagnostic::{self, Diagnostic, code, did_you_mean};
use crate::policy::metric::{Better, MetricKind};
use crate::policy::source::Loc;
use crate::policy::spec::{BucketSelection, Policy, Rule};

/// What a dataset has, for checks that need it (`overlap policy lint --dataset NAME[@V]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DatasetContext {
    /// Feature names of the schema.
    pub features: Vec<String>,
    /// Buckets with at least one comparison.
    pub buckets: Vec<String>,
    /// Interventions known to the registry.
    pub interventions: Vec<String>,
    /// Arms with at least one comparison (canonical names, e.g. `baseline/shorten`).
    pub arms: Vec<String>,
}

impl DatasetContext {
    /// The context an analysis gives: its features, buckets and arms, and the interventions used
    /// in it (callers that have the registry should list all registered interventions instead).
    pub fn from_analysis(analysis: &VersionAnalysis) -> Self {
        let mut interventions = BTreeSet::new();
        let mut arms = BTreeSet::new();
        for bucket in &analysis.buckets {
            interventions.extend(bucket.interventions.iter().map(|i| i.name.clone()));
            arms.extend(bucket.arms.iter().map(|a| a.arm.clone()));
        }
        Self {
            features: analysis.features.iter().map(|f| f.name.clone()).collect(),
            buckets: analysis
                .buckets
                .iter()
                .filter(|b| b.n > 0)
                .map(|b| b.bucket.clone())
                .collect(),
            interventions: interventions.into_iter().collect(),
            arms: arms.into_iter().collect(),
        }
    }
}

/// Every diagnostic for a policy file: shape problems and semantic problems together, sorted by
/// position. The policy is usable when none of them is an error.
pub fn lint(path_for_messages: &str, text: &str, ctx: Option<&DatasetContext>) -> Vec<Diagnostic> {
    let (policy, mut diagnostics) = crate::policy::parser::parse_partial(path_for_messages, text);
    if let Some(policy) = policy {
        diagnostics.extend(validate(&policy, ctx));
    }
    diagnostic::sort(&mut diagnostics);
    diagnostics
}

/// Semantic checks of a parsed policy (and, with `ctx`, against a dataset), sorted by position.
pub fn validate(policy: &Policy, ctx: Option<&DatasetContext>) -> Vec<Diagnostic> {
    let mut v = Validator {
        policy,
        ctx,
        out: Vec::new(),
    };
    v.policy_level();
    v.rules();
    v.waivers();
    if ctx.is_some() {
        v.declared_buckets();
    }
    let mut out = v.out;
    diagnostic::sort(&mut out);
    out
}

struct Validator<'a> {
    policy: &'a Policy,
    ctx: Option<&'a DatasetContext>,
    out: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn error(&mut self, code: &'static str, loc: Loc, message: String, help: Option<String>) {
        self.out
            .push(Diagnostic::error(code, &self.policy.file, loc, message).with_help_opt(help));
    }

    fn warning(&mut self, code: &'static str, loc: Loc, message: String, help: Option<String>) {
        self.out
            .push(Diagnostic::warning(code, &self.policy.file, loc, message).with_help_opt(help));
    }

    fn policy_level(&mut self) {
        let p = self.policy;
        if p.rules.is_empty() && p.dropped_rules == 0 {
            self.warning(
                code::NO_RULES,
                p.name.loc,
                format!(
                    "policy '{}' has no rules: the gate passes every dataset",
                    p.name.value
                ),
                Some("add at least one rule under `rules:`".into()),
            );
        }
        if let (Some(baseline), false) = (&p.baseline, p.needs_drift()) {
            self.warning(
                code::UNUSED_BASELINE,
                baseline.loc,
                format!("baseline '{}' is set but no rule uses a drift metric", baseline.value),
                Some(
                    "remove `baseline`, or add a rule on second_moment_shift, weakest_direction_angle or margin_shift"
                        .into(),
                ),
            );
        }
        let settings = &p.analysis;
        for (key, value) in [
            ("ridge", &settings.ridge),
            ("info_ridge", &settings.info_ridge),
        ] {
            if let Some(v) = value.as_ref().filter(|v| v.value < 0.0) {
                self.error(
                    code::OUT_OF_RANGE,
                    v.loc,
                    format!("'{key}' must be zero or positive, found {}", v.value),
                    Some(format!(
                        "a ridge is a penalty weight; use `{key}: 0` for none"
                    )),
                );
            }
        }
        for bucket in &p.buckets {
            if bucket.harm.value < 0.0 {
                self.error(
                    code::OUT_OF_RANGE,
                    bucket.harm.loc,
                    format!(
                        "harm weight of bucket '{}' must be zero or positive, found {}",
                        bucket.name.value, bucket.harm.value
                    ),
                    Some("harm weights scale a bucket's share of the label budget".into()),
                );
            }
        }
    }

    fn rules(&mut self) {
        let p = self.policy;
        let mut seen: Vec<(&str, usize)> = Vec::new();
        for rule in &p.rules {
            if let Some((_, line)) = seen.iter().find(|(id, _)| *id == rule.id.value) {
                let line = *line;
                self.error(
                    code::DUPLICATE_RULE_ID,
                    rule.id.loc,
                    format!("rule id '{}' is used twice", rule.id.value),
                    Some(format!(
                        "first used at line {line}; waivers and findings refer to rules by id"
                    )),
                );
            } else {
                seen.push((&rule.id.value, rule.id.loc.line));
            }
            self.rule(rule);
        }
    }

    fn rule(&mut self, rule: &Rule) {
        let metric = rule.metric.value;
        let range = metric.range();
        let mut thresholds = vec![(None, &rule.threshold)];
        thresholds.extend(
            rule.thresholds
                .iter()
                .map(|t| (Some(&t.bucket), &t.threshold)),
        );
        for (bucket, t) in thresholds {
            if !range.contains(t.value) {
                let whose = bucket.map_or(String::new(), |b| format!(" for bucket '{}'", b.value));
                self.error(
                    code::THRESHOLD_OUT_OF_RANGE,
                    t.loc,
                    format!(
                        "threshold {}{whose} is outside the range of {metric}",
                        t.value
                    ),
                    Some(format!("{metric} takes values in {range}")),
                );
            }
        }

        let op = rule.op.value;
        let opposite = match metric.better() {
            Better::Higher => !op.is_lower_bound(),
            Better::Lower => op.is_lower_bound(),
            Better::Either => false,
        };
        if opposite {
            let (good, want) = match metric.better() {
                Better::Higher => ("higher", "\">=\""),
                _ => ("lower", "\"<=\""),
            };
            self.warning(
                code::OP_DIRECTION,
                rule.op.loc,
                format!(
                    "rule '{}' caps {metric} with '{op}', but {good} {metric} is better",
                    rule.id.value
                ),
                Some(format!("did you mean op: {want}?")),
            );
        }

        self.arguments(rule);

        if let BucketSelection::Listed(list) = &rule.buckets {
            self.duplicates(list.iter().map(|b| (&b.value, b.loc)), "bucket", "buckets");
            for t in &rule.thresholds {
                if !rule.selects(&t.bucket.value) {
                    self.error(
                        code::THRESHOLD_BUCKET_NOT_SELECTED,
                        t.bucket.loc,
                        format!(
                            "rule '{}' sets a threshold for bucket '{}' but does not select it",
                            rule.id.value, t.bucket.value
                        ),
                        Some(format!(
                            "add '{}' to the rule's `buckets`, or remove the override",
                            t.bucket.value
                        )),
                    );
                }
            }
            for b in list {
                self.bucket_reference(&b.value, b.loc);
            }
        }
        for t in &rule.thresholds {
            self.bucket_reference(&t.bucket.value, t.bucket.loc);
        }
    }

    /// `features`, `interventions`, `arm` and `baseline` against what the metric needs.
    fn arguments(&mut self, rule: &Rule) {
        let metric = rule.metric.value;
        let kind = metric.kind();
        let broken = |key: &str| rule.broken_keys.contains(&key);
        let id = &rule.id.value;

        // `features` scopes an overlap metric or names the features `support` checks.
        let takes_features = metric.accepts_scope() || kind == MetricKind::Feature;
        if let (Some(features), false) = (&rule.features, takes_features) {
            if kind != MetricKind::FeaturePair {
                self.error(
                    code::IRRELEVANT_KEY,
                    features.loc,
                    format!("'features' has no effect on metric {metric}"),
                    Some(
                        "remove it; 'features' is used by the pair metrics, support and the overlap metrics (lambda_min, condition_number, total_information, worst_se, geometry_lambda_min)"
                            .into(),
                    ),
                );
            }
        }
        if let (Some(features), true) = (&rule.features, takes_features) {
            for f in &features.value {
                self.feature_reference(&f.value, f.loc);
            }
        }
        let irrelevant = [
            (
                "interventions",
                rule.interventions.as_ref().map(|i| i.loc),
                MetricKind::Intervention,
            ),
            ("arm", rule.arm.as_ref().map(|a| a.loc), MetricKind::Arm),
        ];
        for (key, loc, needs) in irrelevant {
            if let (Some(loc), true) = (loc, kind != needs) {
                let users = match needs {
                    MetricKind::Intervention => "acceptance_rate and effective_cost",
                    _ => "arm_share",
                };
                self.error(
                    code::IRRELEVANT_KEY,
                    loc,
                    format!("'{key}' has no effect on metric {metric}"),
                    Some(format!("remove it; only {users} use '{key}'")),
                );
            }
        }

        match kind {
            MetricKind::FeaturePair => match &rule.features {
                None if !broken("features") => self.error(
                    code::MISSING_ARGUMENT,
                    rule.metric.loc,
                    format!("rule '{id}' uses {metric}, which needs a feature pair"),
                    Some("add `features: [FEATURE_1, FEATURE_2]`".into()),
                ),
                Some(pair) => {
                    for f in &pair.value {
                        self.feature_reference(&f.value, f.loc);
                    }
                }
                None => {}
            },
            MetricKind::Feature if rule.features.is_none() && !broken("features") => self.error(
                code::MISSING_ARGUMENT,
                rule.metric.loc,
                format!("rule '{id}' uses {metric}, which needs the features to check"),
                Some("add `features: [FEATURE, …]`".into()),
            ),
            MetricKind::Intervention => {
                if let Some(list) = &rule.interventions {
                    self.duplicates(
                        list.value.iter().map(|i| (&i.value, i.loc)),
                        "intervention",
                        "interventions",
                    );
                    for i in &list.value {
                        self.intervention_reference(&i.value, i.loc);
                    }
                }
            }
            MetricKind::Arm => match &rule.arm {
                None if !broken("arm") => self.error(
                    code::MISSING_ARGUMENT,
                    rule.metric.loc,
                    format!("rule '{id}' uses arm_share, which needs an arm"),
                    Some("add `arm: NAME`, e.g. `arm: baseline/shorten`".into()),
                ),
                Some(arm) => self.arm_reference(&arm.value, arm.loc),
                None => {}
            },
            MetricKind::Drift if self.policy.baseline.is_none() => self.error(
                code::MISSING_BASELINE,
                rule.metric.loc,
                format!("rule '{id}' uses drift metric {metric} but the policy names no baseline"),
                Some("add `baseline: NAME@VERSION` at the top level of the policy".into()),
            ),
            _ => {}
        }
    }

    fn duplicates<'s>(
        &mut self,
        items: impl Iterator<Item = (&'s String, Loc)>,
        noun: &str,
        key: &str,
    ) {
        let mut seen = BTreeSet::new();
        for (name, loc) in items {
            if !seen.insert(name) {
                self.warning(
                    code::DUPLICATE_ENTRY,
                    loc,
                    format!("{noun} '{name}' is listed twice in '{key}'"),
                    Some("remove the repeat".into()),
                );
            }
        }
    }

    fn feature_reference(&mut self, name: &str, loc: Loc) {
        let Some(ctx) = self.ctx else { return };
        if ctx.features.iter().any(|f| f == name) {
            return;
        }
        let help = did_you_mean(name, ctx.features.iter().map(String::as_str))
            .unwrap_or_else(|| format!("the dataset's features are: {}", ctx.features.join(", ")));
        self.error(
            code::UNKNOWN_FEATURE,
            loc,
            format!("feature '{name}' is not in the dataset's schema"),
            Some(help),
        );
    }

    fn intervention_reference(&mut self, name: &str, loc: Loc) {
        let Some(ctx) = self.ctx else { return };
        if ctx.interventions.iter().any(|i| i == name) {
            return;
        }
        let help = did_you_mean(name, ctx.interventions.iter().map(String::as_str))
            .unwrap_or_else(|| format!("known interventions: {}", ctx.interventions.join(", ")));
        self.error(
            code::UNKNOWN_INTERVENTION,
            loc,
            format!("intervention '{name}' is not in the registry"),
            Some(help),
        );
    }

    /// Arms are written in canonical form: `baseline`, or the two sides sorted and joined by `/`.
    fn arm_reference(&mut self, arm: &str, loc: Loc) {
        let sides: Vec<&str> = arm.split('/').collect();
        let well_formed =
            matches!(sides.len(), 1 | 2) && sides.iter().all(|s| !s.trim().is_empty());
        if !well_formed {
            self.error(
                code::NON_CANONICAL_ARM,
                loc,
                format!("arm '{arm}' is not an arm name"),
                Some("write `baseline` or two sides joined by '/', e.g. `baseline/shorten`".into()),
            );
            return;
        }
        if let [a, b] = sides[..] {
            if a > b {
                self.error(
                    code::NON_CANONICAL_ARM,
                    loc,
                    format!("arm '{arm}' is not in canonical order"),
                    Some(format!("arms list their sides sorted: '{b}/{a}'")),
                );
                return;
            }
        }
        if let [only] = sides[..] {
            if only != "baseline" {
                self.error(
                    code::NON_CANONICAL_ARM,
                    loc,
                    format!("arm '{arm}' names one side only"),
                    Some(format!(
                        "an edited side is paired with the other side: '{}'",
                        canonical_pair("baseline", arm)
                    )),
                );
                return;
            }
        }
        let Some(ctx) = self.ctx else { return };
        for side in sides.iter().filter(|s| **s != "baseline") {
            self.intervention_reference(side, loc);
        }
        if !ctx.arms.iter().any(|a| a == arm) {
            let help = did_you_mean(arm, ctx.arms.iter().map(String::as_str))
                .unwrap_or_else(|| "the rule will measure a share of 0".into());
            self.warning(
                code::ARM_WITHOUT_DATA,
                loc,
                format!("no comparison of the dataset is in arm '{arm}'"),
                Some(help),
            );
        }
    }

    /// A bucket named by a rule, threshold or waiver. Declared buckets without data are reported
    /// once, at their declaration ([`Validator::declared_buckets`]).
    fn bucket_reference(&mut self, name: &str, loc: Loc) {
        let Some(ctx) = self.ctx else { return };
        if ctx.buckets.iter().any(|b| b == name) || self.policy.bucket_spec(name).is_some() {
            return;
        }
        let candidates = ctx
            .buckets
            .iter()
            .map(String::as_str)
            .chain(self.policy.buckets.iter().map(|b| b.name.value.as_str()));
        let help = did_you_mean(name, candidates).unwrap_or_else(|| {
            format!(
                "the dataset's buckets are: {}; declare it under `buckets:` if data is expected later",
                ctx.buckets.join(", ")
            )
        });
        self.error(
            code::UNKNOWN_BUCKET,
            loc,
            format!("bucket '{name}' has no data in the dataset and is not declared"),
            Some(help),
        );
    }

    fn declared_buckets(&mut self) {
        let Some(ctx) = self.ctx else { return };
        for bucket in &self.policy.buckets {
            if ctx.buckets.contains(&bucket.name.value) {
                continue;
            }
            let consequence = if bucket.required {
                "it is required, so the gate will fail"
            } else {
                "it is optional, so its rules will report no-data"
            };
            self.warning(
                code::BUCKET_WITHOUT_DATA,
                bucket.name.loc,
                format!(
                    "declared bucket '{}' has no data in the dataset",
                    bucket.name.value
                ),
                Some(consequence.into()),
            );
        }
    }

    fn waivers(&mut self) {
        let p = self.policy;
        let mut seen: Vec<(&str, &str, usize)> = Vec::new();
        for waiver in &p.waivers {
            let (rule_id, bucket) = (&waiver.rule.value, &waiver.bucket.value);
            match p.rule(rule_id) {
                Some(rule) => {
                    if !rule.selects(bucket) {
                        self.error(
                            code::WAIVER_BUCKET_NOT_SELECTED,
                            waiver.bucket.loc,
                            format!("waiver for rule '{rule_id}' names bucket '{bucket}', which the rule does not select"),
                            Some("a waiver can only waive findings its rule produces".into()),
                        );
                    }
                }
                None if p.incomplete_rule_ids.iter().any(|i| i == rule_id) => {}
                None => {
                    let help = did_you_mean(rule_id, p.rules.iter().map(|r| r.id.value.as_str()))
                        .unwrap_or_else(|| "waive a rule by its `id`".into());
                    self.error(
                        code::WAIVER_UNKNOWN_RULE,
                        waiver.rule.loc,
                        format!("waiver names rule '{rule_id}', which does not exist"),
                        Some(help),
                    );
                }
            }
            if let Some((_, _, line)) = seen.iter().find(|(r, b, _)| r == rule_id && b == bucket) {
                let line = *line;
                self.error(
                    code::DUPLICATE_WAIVER,
                    waiver.loc,
                    format!("a second waiver for rule '{rule_id}' on bucket '{bucket}'"),
                    Some(format!(
                        "the first is at line {line}; keep one waiver per rule and bucket"
                    )),
                );
            } else {
                seen.push((rule_id, bucket, waiver.loc.line));
            }
            self.bucket_reference(bucket, waiver.bucket.loc);
        }
    }
}

fn canonical_pair(a: &str, b: &str) -> String {
    if a <= b {
        format!("{a}/{b}")
    } else {
        format!("{b}/{a}")
    }
}
