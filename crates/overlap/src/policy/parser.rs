//! The located parser of policy files: YAML (via `source`) into the [`Policy`] types of `spec`,
//! reporting every shape problem — syntax, keys, types, enumerated values, dates — in one pass,
//! with did-you-mean help. Meaning is `validate`'s job.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use crate::model::analysis::FitMode;
use crate::policy::diagnostic::{self, Diagnostic, code, did_you_mean};
use crate::policy::metric::{Metric, MetricKind};
use crate::policy::source::{self, Loc, Located, Node, NodeKind};

/// The policy format version this module reads.
use super::spec::*;

/// Parses a policy file. `path_for_messages` is the path shown in diagnostics and outputs.
///
/// Returns every shape problem at once. Semantic checks are [`crate::policy::validate()`]'s, and
/// [`crate::policy::lint`] runs both and reports everything together.
pub fn parse(path_for_messages: &str, text: &str) -> Result<Policy, Vec<Diagnostic>> {
    let (policy, mut diagnostics) = parse_partial(path_for_messages, text);
    diagnostic::sort(&mut diagnostics);
    match policy {
        Some(policy) if !diagnostics.iter().any(Diagnostic::is_error) => Ok(policy),
        _ => Err(diagnostics),
    }
}

/// Parses as much as it can: the policy (`None` only when the text is not a YAML mapping) with
/// every element that had a shape error left out, and the diagnostics.
pub(crate) fn parse_partial(path: &str, text: &str) -> (Option<Policy>, Vec<Diagnostic>) {
    let mut p = Parser {
        file: path,
        diagnostics: Vec::new(),
    };
    let root = match source::load(text) {
        Ok(root) => root,
        Err(err) => {
            let help = syntax_help(text, err.loc);
            p.diagnostics.push(
                Diagnostic::error(
                    code::YAML_SYNTAX,
                    path,
                    err.loc,
                    format!("invalid YAML: {}", err.message),
                )
                .with_help_opt(help),
            );
            return (None, p.diagnostics);
        }
    };
    let policy = p.policy(&root, text);
    (policy, p.diagnostics)
}

/// A bare `>` starts a folded block scalar in YAML, so `op: >=` is a syntax error: say so.
fn syntax_help(text: &str, loc: Loc) -> Option<String> {
    let line = text.lines().nth(loc.line.checked_sub(1)?)?;
    let after_colon = line.split_once(':')?.1.trim_start();
    if after_colon.starts_with('>') || after_colon.starts_with('<') {
        Some(format!(
            "quote comparison operators: op: \"{}\"",
            after_colon.split_whitespace().next().unwrap_or(">=")
        ))
    } else {
        None
    }
}

const TOP_KEYS: &[&str] = &[
    "version",
    "name",
    "description",
    "baseline",
    "analysis",
    "buckets",
    "rules",
    "waivers",
];
const RULE_KEYS: &[&str] = &[
    "id",
    "description",
    "metric",
    "op",
    "threshold",
    "thresholds",
    "buckets",
    "severity",
    "features",
    "interventions",
    "arm",
];
const WAIVER_KEYS: &[&str] = &["rule", "bucket", "owner", "reason", "ticket", "expires"];
const BUCKET_KEYS: &[&str] = &["harm", "required"];
const ANALYSIS_KEYS: &[&str] = &["ridge", "info_ridge", "fit"];

/// The keys of one mapping, checked against the allowed set.
struct Fields<'n> {
    loc: Loc,
    entries: Vec<(&'n str, &'n Node)>,
}

impl<'n> Fields<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }
}

struct Parser<'f> {
    file: &'f str,
    diagnostics: Vec<Diagnostic>,
}

impl Parser<'_> {
    fn error(&mut self, code: &'static str, loc: Loc, message: String, help: Option<String>) {
        self.diagnostics
            .push(Diagnostic::error(code, self.file, loc, message).with_help_opt(help));
    }

    fn wrong_type(&mut self, node: &Node, key: &str, expected: &str) {
        let found = node.kind.type_name();
        let help = match (&node.kind, expected) {
            (NodeKind::Str(s), "a number" | "an integer") if s.trim().parse::<f64>().is_ok() => {
                Some(format!("remove the quotes: {key}: {}", s.trim()))
            }
            (NodeKind::Int(v), "a string") => Some(format!("quote it: {key}: \"{v}\"")),
            (NodeKind::Float(v), "a string") => Some(format!("quote it: {key}: \"{v}\"")),
            (NodeKind::Bool(v), "a string") => Some(format!("quote it: {key}: \"{v}\"")),
            (NodeKind::Null, _) => Some(format!("give '{key}' a value")),
            _ => None,
        };
        self.error(
            code::WRONG_TYPE,
            node.loc,
            format!("'{key}' must be {expected}, found {found}"),
            help,
        );
    }

    /// The entries of a mapping with string keys; reports non-string and duplicate keys.
    fn entries<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
    ) -> Option<Vec<(Located<&'n str>, &'n Node)>> {
        let NodeKind::Map(map) = &node.kind else {
            let help = (what == "a rule").then(|| {
                "write each rule as a mapping: `- id: …` with `metric`, `op` and `threshold`"
                    .to_owned()
            });
            self.error(
                code::WRONG_TYPE,
                node.loc,
                format!("{what} must be a mapping, found {}", node.kind.type_name()),
                help,
            );
            return None;
        };
        let mut out: Vec<(Located<&'n str>, &'n Node)> = Vec::new();
        for (key, value) in map {
            let NodeKind::Str(name) = &key.kind else {
                self.error(
                    code::WRONG_TYPE,
                    key.loc,
                    format!(
                        "keys of '{what}' must be strings, found {}",
                        key.kind.type_name()
                    ),
                    Some("quote the key".into()),
                );
                continue;
            };
            if let Some((first, _)) = out.iter().find(|(k, _)| k.value == name.as_str()) {
                let first_line = first.loc.line;
                self.error(
                    code::DUPLICATE_KEY,
                    key.loc,
                    format!("duplicate key '{name}' in {what}"),
                    Some(format!(
                        "first defined at line {first_line}; remove one of them"
                    )),
                );
                continue;
            }
            out.push((Located::new(name.as_str(), key.loc), value));
        }
        Some(out)
    }

    /// A mapping whose keys must come from `allowed`.
    fn fields<'n>(&mut self, node: &'n Node, what: &str, allowed: &[&str]) -> Option<Fields<'n>> {
        let entries = self.entries(node, what)?;
        let mut fields = Fields {
            loc: node.loc,
            entries: Vec::new(),
        };
        for (key, value) in entries {
            if allowed.contains(&key.value) {
                fields.entries.push((key.value, value));
                continue;
            }
            let help = unknown_key_help(key.value, allowed);
            self.error(
                code::UNKNOWN_KEY,
                key.loc,
                format!("unknown key '{}' in {what}", key.value),
                Some(help),
            );
        }
        Some(fields)
    }

    fn required<'n>(&mut self, fields: &Fields<'n>, key: &str, what: &str) -> Option<&'n Node> {
        let node = fields.get(key);
        if node.is_none() {
            let example = match key {
                "version" => "version: 1",
                "name" => "name: release-gate",
                "rules" => "rules: followed by at least one rule",
                "id" => "id: a-unique-name",
                "metric" => "metric: lambda_min",
                "op" => "op: \">=\"",
                "threshold" => "threshold: NUMBER",
                "rule" => "rule: RULE_ID",
                "bucket" => "bucket: BUCKET",
                "owner" => "owner: team@example.org",
                "reason" => "reason: why the failure is accepted",
                "ticket" => "ticket: TRACKER-123",
                "expires" => "expires: YYYY-MM-DD",
                _ => "",
            };
            let help = (!example.is_empty()).then(|| format!("add `{example}`"));
            self.error(
                code::MISSING_KEY,
                fields.loc,
                format!("{what} is missing required key '{key}'"),
                help,
            );
        }
        node
    }

    fn string(&mut self, node: &Node, key: &str) -> Option<Located<String>> {
        match &node.kind {
            NodeKind::Str(s) if !s.trim().is_empty() => Some(Located::new(s.clone(), node.loc)),
            NodeKind::Str(_) => {
                self.error(
                    code::WRONG_TYPE,
                    node.loc,
                    format!("'{key}' must not be empty"),
                    None,
                );
                None
            }
            _ => {
                self.wrong_type(node, key, "a string");
                None
            }
        }
    }

    fn number(&mut self, node: &Node, key: &str) -> Option<Located<f64>> {
        let value = match &node.kind {
            // Integers beyond 2^53 round; thresholds that large have no meaning anyway.
            #[allow(clippy::cast_precision_loss)]
            NodeKind::Int(v) => *v as f64,
            NodeKind::Float(v) => *v,
            _ => {
                self.wrong_type(node, key, "a number");
                return None;
            }
        };
        if !value.is_finite() {
            self.error(
                code::NON_FINITE_NUMBER,
                node.loc,
                format!("'{key}' must be a finite number, found {value}"),
                Some("use a finite threshold; an unbounded rule is no rule".into()),
            );
            return None;
        }
        Some(Located::new(value, node.loc))
    }

    fn boolean(&mut self, node: &Node, key: &str) -> Option<bool> {
        if let NodeKind::Bool(b) = node.kind {
            Some(b)
        } else {
            self.wrong_type(node, key, "true or false");
            None
        }
    }

    fn string_list(&mut self, node: &Node, key: &str) -> Option<Located<Vec<Located<String>>>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.wrong_type(node, key, "a list");
            return None;
        };
        if items.is_empty() {
            self.error(
                code::EMPTY_LIST,
                node.loc,
                format!("'{key}' is an empty list"),
                Some(format!("name at least one entry, or remove '{key}'")),
            );
            return None;
        }
        let before = self.diagnostics.len();
        let list: Vec<Located<String>> = items
            .iter()
            .filter_map(|item| self.string(item, key))
            .collect();
        (self.diagnostics.len() == before).then(|| Located::new(list, node.loc))
    }

    fn policy(&mut self, root: &Node, text: &str) -> Option<Policy> {
        if !matches!(root.kind, NodeKind::Map(_)) {
            self.error(
                code::WRONG_TYPE,
                root.loc,
                format!(
                    "a policy must be a mapping, found {}",
                    root.kind.type_name()
                ),
                Some("start with `version: 1`, `name: …` and `rules:`".into()),
            );
            return None;
        }
        // A newer format may differ everywhere: report only the version, not a cascade of
        // unknown keys.
        if let NodeKind::Map(entries) = &root.kind {
            let version = entries
                .iter()
                .find(|(k, _)| k.kind == NodeKind::Str("version".into()));
            if let Some((_, node)) = version {
                if let NodeKind::Int(v) = node.kind {
                    if v != i128::from(SUPPORTED_VERSION) {
                        self.error(
                            code::UNSUPPORTED_VERSION,
                            node.loc,
                            format!("policy format version {v} is not supported"),
                            Some(format!(
                                "this overlap reads version {SUPPORTED_VERSION}; write `version: {SUPPORTED_VERSION}` or upgrade overlap"
                            )),
                        );
                        return None;
                    }
                }
            }
        }
        let top = self.fields(root, "the policy", TOP_KEYS)?;
        let version = self.version(&top);
        let name = self
            .required(&top, "name", "the policy")
            .and_then(|n| self.string(n, "name"))
            .unwrap_or_else(|| Located::new(String::new(), top.loc));
        let description = top
            .get("description")
            .and_then(|n| self.string(n, "description"));
        let baseline = top.get("baseline").and_then(|n| self.baseline(n));
        let analysis = top
            .get("analysis")
            .map(|n| self.analysis(n))
            .unwrap_or_default();
        let buckets = top
            .get("buckets")
            .map(|n| self.buckets(n))
            .unwrap_or_default();
        let mut incomplete_rule_ids = Vec::new();
        let (rules, dropped_rules) = match self.required(&top, "rules", "the policy") {
            Some(node) => self.rules(node, &mut incomplete_rule_ids),
            None => (Vec::new(), 0),
        };
        let waivers = top
            .get("waivers")
            .map(|n| self.waivers(n))
            .unwrap_or_default();
        Some(Policy {
            file: self.file.to_owned(),
            digest: crate::model::digest::sha256_hex(text.as_bytes()),
            version,
            name,
            description,
            baseline,
            analysis,
            buckets,
            rules,
            waivers,
            incomplete_rule_ids,
            dropped_rules,
        })
    }

    fn version(&mut self, top: &Fields<'_>) -> u32 {
        // Integers other than the supported one were reported (and parsing stopped) earlier.
        if let Some(node) = self.required(top, "version", "the policy") {
            if !matches!(node.kind, NodeKind::Int(_)) {
                self.wrong_type(node, "version", "an integer");
            }
        }
        SUPPORTED_VERSION
    }

    fn baseline(&mut self, node: &Node) -> Option<Located<BaselineRef>> {
        let text = self.string(node, "baseline")?;
        let parsed = text.value.rsplit_once('@').and_then(|(name, v)| {
            let version = v.parse::<u32>().ok().filter(|v| *v >= 1)?;
            (!name.is_empty()).then(|| BaselineRef {
                dataset: name.to_owned(),
                version,
            })
        });
        if parsed.is_none() {
            self.error(
                code::INVALID_BASELINE,
                node.loc,
                format!("baseline '{}' is not NAME@VERSION", text.value),
                Some("name a dataset version, e.g. `baseline: demo@1`".into()),
            );
        }
        parsed.map(|b| Located::new(b, node.loc))
    }

    fn analysis(&mut self, node: &Node) -> AnalysisSettings {
        let Some(fields) = self.fields(node, "'analysis'", ANALYSIS_KEYS) else {
            return AnalysisSettings::default();
        };
        let ridge = fields.get("ridge").and_then(|n| self.number(n, "ridge"));
        let info_ridge = fields
            .get("info_ridge")
            .and_then(|n| self.number(n, "info_ridge"));
        let fit = fields.get("fit").and_then(|n| {
            let s = self.string(n, "fit")?;
            let mode = match s.value.as_str() {
                "pooled" => FitMode::Pooled,
                "per-bucket" => FitMode::PerBucket,
                other => {
                    let help = did_you_mean(other, ["pooled", "per-bucket"])
                        .unwrap_or_else(|| "use 'pooled' or 'per-bucket'".into());
                    self.error(
                        code::INVALID_FIT,
                        n.loc,
                        format!("fit '{other}' is not a fit mode"),
                        Some(help),
                    );
                    return None;
                }
            };
            Some(Located::new(mode, n.loc))
        });
        AnalysisSettings {
            ridge,
            info_ridge,
            fit,
        }
    }

    fn buckets(&mut self, node: &Node) -> Vec<BucketSpec> {
        let Some(entries) = self.entries(node, "'buckets'") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (name, value) in entries {
            let name = Located::new(name.value.to_owned(), name.loc);
            let mut spec = BucketSpec {
                harm: Located::new(1.0, name.loc),
                name,
                required: true,
            };
            if !matches!(value.kind, NodeKind::Null) {
                let what = format!("bucket '{}'", spec.name.value);
                if let Some(fields) = self.fields(value, &what, BUCKET_KEYS) {
                    if let Some(harm) = fields.get("harm").and_then(|n| self.number(n, "harm")) {
                        spec.harm = harm;
                    }
                    if let Some(req) = fields
                        .get("required")
                        .and_then(|n| self.boolean(n, "required"))
                    {
                        spec.required = req;
                    }
                }
            }
            out.push(spec);
        }
        out
    }

    /// The rules that parsed, and how many did not.
    fn rules(&mut self, node: &Node, incomplete: &mut Vec<String>) -> (Vec<Rule>, usize) {
        let NodeKind::Seq(items) = &node.kind else {
            self.wrong_type(node, "rules", "a list");
            return (Vec::new(), 1);
        };
        let rules: Vec<Rule> = items
            .iter()
            .filter_map(|item| self.rule(item, incomplete))
            .collect();
        let dropped = items.len() - rules.len();
        (rules, dropped)
    }

    fn rule(&mut self, node: &Node, incomplete: &mut Vec<String>) -> Option<Rule> {
        let fields = self.fields(node, "a rule", RULE_KEYS)?;
        let id = self
            .required(&fields, "id", "a rule")
            .and_then(|n| self.rule_id(n));
        let metric = self
            .required(&fields, "metric", "a rule")
            .and_then(|n| self.metric(n));
        let op = self
            .required(&fields, "op", "a rule")
            .and_then(|n| self.op(n));
        let threshold = self
            .required(&fields, "threshold", "a rule")
            .and_then(|n| self.number(n, "threshold"));

        let mut broken = Vec::new();
        let description = self.track(
            &mut broken,
            "description",
            fields.get("description"),
            |p, n| p.string(n, "description"),
        );
        let thresholds = self
            .track(
                &mut broken,
                "thresholds",
                fields.get("thresholds"),
                |p, n| p.thresholds(n),
            )
            .unwrap_or_default();
        let buckets = self
            .track(&mut broken, "buckets", fields.get("buckets"), |p, n| {
                p.bucket_selection(n)
            })
            .unwrap_or(BucketSelection::All);
        let severity = self
            .track(&mut broken, "severity", fields.get("severity"), |p, n| {
                p.severity(n)
            })
            .unwrap_or(Located::new(RuleSeverity::Deny, fields.loc));
        let pair_metric = metric
            .as_ref()
            .is_some_and(|m| m.value.kind() == MetricKind::FeaturePair);
        let features = self.track(&mut broken, "features", fields.get("features"), |p, n| {
            if pair_metric {
                p.feature_pair(n)
            } else {
                p.feature_list(n)
            }
        });
        let interventions = self.track(
            &mut broken,
            "interventions",
            fields.get("interventions"),
            |p, n| p.string_list(n, "interventions"),
        );
        let arm = self.track(&mut broken, "arm", fields.get("arm"), |p, n| {
            p.string(n, "arm")
        });

        match (id, metric, op, threshold) {
            (Some(id), Some(metric), Some(op), Some(threshold)) => Some(Rule {
                id,
                description,
                metric,
                op,
                threshold,
                thresholds,
                buckets,
                severity,
                features,
                interventions,
                arm,
                loc: fields.loc,
                broken_keys: broken,
            }),
            (id, ..) => {
                let id = id
                    .map(|i| i.value)
                    .or_else(|| match fields.get("id").map(|n| &n.kind) {
                        Some(NodeKind::Str(s)) => Some(s.clone()),
                        _ => None,
                    });
                incomplete.extend(id);
                None
            }
        }
    }

    /// Parses an optional key; records it as broken when present but unparsable.
    fn track<T>(
        &mut self,
        broken: &mut Vec<&'static str>,
        key: &'static str,
        node: Option<&Node>,
        parse: impl FnOnce(&mut Self, &Node) -> Option<T>,
    ) -> Option<T> {
        let node = node?;
        let parsed = parse(self, node);
        if parsed.is_none() {
            broken.push(key);
        }
        parsed
    }

    fn rule_id(&mut self, node: &Node) -> Option<Located<String>> {
        let id = self.string(node, "id")?;
        let mut chars = id.value.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid {
            let suggestion: String = id
                .value
                .trim()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            self.error(
                code::INVALID_RULE_ID,
                node.loc,
                format!(
                    "rule id '{}' has characters outside [A-Za-z0-9._-]",
                    id.value
                ),
                Some(format!(
                    "ids appear in CI annotations and test names; try '{}'",
                    suggestion.trim_matches('-')
                )),
            );
            return None;
        }
        Some(id)
    }

    fn metric(&mut self, node: &Node) -> Option<Located<Metric>> {
        let name = self.string(node, "metric")?;
        if let Some(metric) = Metric::from_name(&name.value) {
            return Some(Located::new(metric, node.loc));
        }
        let help =
            did_you_mean(&name.value, Metric::ALL.iter().map(|m| m.name())).unwrap_or_else(|| {
                let names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
                format!("known metrics: {}", names.join(", "))
            });
        self.error(
            code::UNKNOWN_METRIC,
            node.loc,
            format!("metric '{}' does not exist", name.value),
            Some(help),
        );
        None
    }

    fn op(&mut self, node: &Node) -> Option<Located<Op>> {
        // `op: >` parses as an empty folded block scalar, not as the operator.
        if matches!(&node.kind, NodeKind::Str(s) if s.trim().is_empty()) {
            self.error(
                code::INVALID_OPERATOR,
                node.loc,
                "'op' is empty".into(),
                Some(
                    "a bare > starts a folded string in YAML; quote the operator: op: \">\"".into(),
                ),
            );
            return None;
        }
        let text = self.string(node, "op")?;
        if let Some(op) = Op::from_symbol(text.value.trim()) {
            return Some(Located::new(op, node.loc));
        }
        let suggestion = match text.value.trim() {
            "=>" | "≥" | "ge" | "gte" => Some(">="),
            "=<" | "≤" | "le" | "lte" => Some("<="),
            "gt" => Some(">"),
            "lt" => Some("<"),
            _ => None,
        };
        let help = match suggestion {
            Some(s) => format!("did you mean \"{s}\"?"),
            None => "use one of \">=\", \">\", \"<=\", \"<\" (quoted)".into(),
        };
        self.error(
            code::INVALID_OPERATOR,
            node.loc,
            format!("'{}' is not a comparison operator", text.value),
            Some(help),
        );
        None
    }

    fn severity(&mut self, node: &Node) -> Option<Located<RuleSeverity>> {
        let text = self.string(node, "severity")?;
        let severity = match text.value.as_str() {
            "deny" => RuleSeverity::Deny,
            "warn" => RuleSeverity::Warn,
            other => {
                let help = match other {
                    "error" | "fail" | "block" => "did you mean 'deny'?".to_owned(),
                    "warning" | "info" => "did you mean 'warn'?".to_owned(),
                    _ => did_you_mean(other, ["deny", "warn"])
                        .unwrap_or_else(|| "use 'deny' or 'warn'".into()),
                };
                self.error(
                    code::INVALID_SEVERITY,
                    node.loc,
                    format!("severity '{other}' is not 'deny' or 'warn'"),
                    Some(help),
                );
                return None;
            }
        };
        Some(Located::new(severity, node.loc))
    }

    fn thresholds(&mut self, node: &Node) -> Option<Vec<BucketThreshold>> {
        let entries = self.entries(node, "'thresholds'")?;
        let before = self.diagnostics.len();
        let out: Vec<BucketThreshold> = entries
            .into_iter()
            .filter_map(|(bucket, value)| {
                let threshold = self.number(value, "threshold")?;
                Some(BucketThreshold {
                    bucket: Located::new(bucket.value.to_owned(), bucket.loc),
                    threshold,
                })
            })
            .collect();
        (self.diagnostics.len() == before).then_some(out)
    }

    fn bucket_selection(&mut self, node: &Node) -> Option<BucketSelection> {
        match &node.kind {
            NodeKind::Str(s) if s == "*" => Some(BucketSelection::All),
            NodeKind::Seq(_) => {
                let list = self.string_list(node, "buckets")?;
                if let Some(star) = list.value.iter().find(|b| b.value == "*") {
                    self.error(
                        code::WRONG_TYPE,
                        star.loc,
                        "'*' inside a bucket list is not a bucket name".into(),
                        Some(
                            "write `buckets: \"*\"` (not in a list) to select every bucket".into(),
                        ),
                    );
                    return None;
                }
                Some(BucketSelection::Listed(list.value))
            }
            _ => {
                self.error(
                    code::WRONG_TYPE,
                    node.loc,
                    format!(
                        "'buckets' must be a list of bucket names or \"*\", found {}",
                        node.kind.type_name()
                    ),
                    Some("write `buckets: [self-harm, cyber]`, or `buckets: \"*\"` for all".into()),
                );
                None
            }
        }
    }

    /// A scope or a list of features to check: at least one name, none twice.
    fn feature_list(&mut self, node: &Node) -> Option<Located<Vec<Located<String>>>> {
        let list = self.string_list(node, "features")?;
        if list.value.is_empty() {
            self.error(
                code::INVALID_SCOPE,
                list.loc,
                "'features' is empty".into(),
                Some(
                    "name the features the rule is about, e.g. `features: [log_chars, refusal]`"
                        .into(),
                ),
            );
            return None;
        }
        let mut seen = BTreeSet::new();
        for f in &list.value {
            if !seen.insert(&f.value) {
                self.error(
                    code::INVALID_SCOPE,
                    f.loc,
                    format!("'features' names '{}' twice", f.value),
                    Some("remove the repeat".into()),
                );
                return None;
            }
        }
        Some(list)
    }

    fn feature_pair(&mut self, node: &Node) -> Option<Located<Vec<Located<String>>>> {
        let list = self.string_list(node, "features")?;
        let loc = list.loc;
        match <[Located<String>; 2]>::try_from(list.value) {
            Ok(pair) if pair[0].value != pair[1].value => Some(Located::new(pair.into(), loc)),
            Ok(_) => {
                self.error(
                    code::INVALID_FEATURE_PAIR,
                    loc,
                    "'features' names the same feature twice".into(),
                    Some("a pair metric compares two different features".into()),
                );
                None
            }
            Err(list) => {
                self.error(
                    code::INVALID_FEATURE_PAIR,
                    loc,
                    format!(
                        "'features' must name exactly two features, found {}",
                        list.len()
                    ),
                    Some("write one rule per pair, e.g. `features: [length, refusal]`".into()),
                );
                None
            }
        }
    }

    fn waivers(&mut self, node: &Node) -> Vec<Waiver> {
        let NodeKind::Seq(items) = &node.kind else {
            self.wrong_type(node, "waivers", "a list");
            return Vec::new();
        };
        items.iter().filter_map(|item| self.waiver(item)).collect()
    }

    fn waiver(&mut self, node: &Node) -> Option<Waiver> {
        let fields = self.fields(node, "a waiver", WAIVER_KEYS)?;
        let text = |p: &mut Self, key: &str| {
            p.required(&fields, key, "a waiver")
                .and_then(|n| p.string(n, key))
        };
        let rule = text(self, "rule");
        let bucket = text(self, "bucket");
        let owner = text(self, "owner");
        let reason = text(self, "reason");
        let ticket = text(self, "ticket");
        let expires = self
            .required(&fields, "expires", "a waiver")
            .and_then(|n| self.date(n, "expires"));
        Some(Waiver {
            rule: rule?,
            bucket: bucket?,
            owner: owner?,
            reason: reason?,
            ticket: ticket?,
            expires: expires?,
            loc: fields.loc,
        })
    }

    fn date(&mut self, node: &Node, key: &str) -> Option<Located<NaiveDate>> {
        let text = self.string(node, key)?;
        let shaped = text.value.len() == 10
            && text.value.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        let date = shaped
            .then(|| NaiveDate::parse_from_str(&text.value, "%Y-%m-%d").ok())
            .flatten();
        if date.is_none() {
            self.error(
                code::INVALID_DATE,
                node.loc,
                format!("'{key}' is not a date: '{}'", text.value),
                Some("write the date as YYYY-MM-DD, e.g. 2027-01-31".into()),
            );
        }
        date.map(|d| Located::new(d, node.loc))
    }
}

fn unknown_key_help(key: &str, allowed: &[&str]) -> String {
    if allowed == RULE_KEYS && Metric::from_name(key).is_some() {
        return format!(
            "name the metric with `metric: {key}` and the bound with `op` and `threshold`"
        );
    }
    if allowed == WAIVER_KEYS && key == "expiry" {
        return "did you mean 'expires'?".into();
    }
    did_you_mean(key, allowed.iter().copied())
        .unwrap_or_else(|| format!("allowed keys: {}", allowed.join(", ")))
}
