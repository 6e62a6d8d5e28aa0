//! `--format sarif`: a SARIF 2.1.0 log for code-scanning tools. One result per finding that fails,
//! warns or is waived, located at its line in the policy file; waived findings carry an accepted
//! external suppression with the waiver's owner, reason, ticket and expiry, so viewers show them
//! as suppressed instead of hiding them. `partialFingerprints` make results stable across runs.
//!
//! A test validates the output against the OASIS SARIF 2.1.0 JSON schema.

use serde_json::{Value, json};

use super::{evidence_text, verdict_word};
use crate::policy::findings::{Evaluation, Finding, FindingKind, Outcome, RuleSummary};
use crate::policy::spec::RuleSeverity;

const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Rule ids for gate-level findings; policy rule ids cannot contain `/`, so these never clash.
fn synthetic_rule(kind: FindingKind) -> Option<(&'static str, &'static str, &'static str)> {
    match kind {
        FindingKind::Rule => None,
        FindingKind::RequiredBucket => Some((
            "overlap/required-bucket",
            "A bucket the policy declares as required has no comparisons.",
            "error",
        )),
        FindingKind::WaiverExpired => Some((
            "overlap/waiver-expired",
            "A waiver is past its expiry date; it waives nothing and fails the gate.",
            "error",
        )),
        FindingKind::WaiverUnused => Some((
            "overlap/waiver-unused",
            "A waiver waived no failing finding.",
            "warning",
        )),
        FindingKind::NothingChecked => Some((
            "overlap/nothing-checked",
            "No rule could be evaluated on any bucket: the gate checked nothing.",
            "error",
        )),
    }
}

fn level_of(severity: RuleSeverity) -> &'static str {
    match severity {
        RuleSeverity::Deny => "error",
        RuleSeverity::Warn => "warning",
    }
}

pub(super) fn render(eval: &Evaluation) -> String {
    let mut rule_ids: Vec<String> = eval.rules.iter().map(|r| r.id.clone()).collect();
    let mut descriptors: Vec<Value> = eval.rules.iter().map(descriptor).collect();
    for kind in [
        FindingKind::RequiredBucket,
        FindingKind::WaiverExpired,
        FindingKind::WaiverUnused,
    ] {
        let used = eval.findings.iter().any(|f| f.kind == kind);
        if let (true, Some((id, text, level))) = (used, synthetic_rule(kind)) {
            rule_ids.push(id.to_owned());
            descriptors.push(json!({
                "id": id,
                "shortDescription": { "text": text },
                "defaultConfiguration": { "level": level },
            }));
        }
    }

    let results: Vec<Value> = eval
        .findings
        .iter()
        .filter(|f| matches!(f.outcome, Outcome::Fail | Outcome::Warn | Outcome::Waived))
        .map(|f| result(eval, f, &rule_ids))
        .collect();

    let log = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "overlap",
                    "version": eval.tool_version,
                    "rules": descriptors,
                }
            },
            "automationDetails": {
                "id": format!("overlap-gate/{}/", eval.policy.name),
            },
            "results": results,
            "properties": {
                "verdict": verdict_word(eval.verdict).to_lowercase(),
                "failOnWarn": eval.fail_on_warn,
                "policy": eval.policy.name,
                "policyDigest": eval.policy.digest,
                "dataset": format!("{}@{}", eval.dataset.name, eval.dataset.version),
                "datasetDigest": eval.dataset.digest,
                "evaluatedOn": eval.evaluated_on.format("%Y-%m-%d").to_string(),
            },
        }],
    });
    let mut out = serde_json::to_string_pretty(&log)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize SARIF: {e}\"}}"));
    out.push('\n');
    out
}

fn descriptor(rule: &RuleSummary) -> Value {
    let short = format!("{} {} {}", rule.metric, rule.op, rule.threshold);
    let full = rule
        .description
        .clone()
        .unwrap_or_else(|| format!("{}: {}", rule.metric, rule.metric.summary()));
    json!({
        "id": rule.id,
        "shortDescription": { "text": short },
        "fullDescription": { "text": full },
        "defaultConfiguration": { "level": level_of(rule.severity) },
        "properties": {
            "metric": rule.metric,
            "op": rule.op,
            "threshold": rule.threshold,
        },
    })
}

fn result(eval: &Evaluation, f: &Finding, rule_ids: &[String]) -> Value {
    let rule_id = match synthetic_rule(f.kind) {
        Some((id, _, _)) => id.to_owned(),
        None => f.rule.clone().unwrap_or_default(),
    };
    let rule_index = rule_ids.iter().position(|r| *r == rule_id);
    let level = match (f.outcome, f.kind) {
        (Outcome::Fail, _) => "error",
        (Outcome::Warn, _) if eval.fail_on_warn => "error",
        (Outcome::Warn, _) => "warning",
        (_, _) => level_of(f.severity),
    };
    let mut text = format!("[{}] {}", f.bucket, f.message);
    let evidence = evidence_text(f);
    if !evidence.is_empty() {
        text.push_str(&format!(" ({evidence})"));
    }
    // -1 is SARIF's "no index"; every rule id is in the list, so it does not occur.
    let rule_index = rule_index.and_then(|i| i64::try_from(i).ok()).unwrap_or(-1);
    let mut result = json!({
        "ruleId": rule_id,
        "ruleIndex": rule_index,
        "level": level,
        "message": { "text": text },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": uri(&eval.policy.file) },
                "region": { "startLine": f.line.max(1), "startColumn": f.column.max(1) },
            }
        }],
        "partialFingerprints": { "overlapFinding/v1": f.key() },
        "properties": {
            "outcome": f.outcome,
            "kind": f.kind,
            "bucket": f.bucket,
            "metric": f.metric,
            "value": f.value,
            "threshold": f.threshold,
            "margin": f.margin,
        },
    });
    if let (Outcome::Waived, Some(w), Some(obj)) = (f.outcome, &f.waiver, result.as_object_mut()) {
        obj.insert(
            "suppressions".into(),
            json!([{
                "kind": "external",
                "status": "accepted",
                "justification": format!(
                    "{} (owner {}, ticket {}, expires {})",
                    w.reason, w.owner, w.ticket, w.expires.format("%Y-%m-%d")
                ),
                "location": {
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&eval.policy.file) },
                        "region": { "startLine": w.line.max(1) },
                    }
                },
                "properties": {
                    "owner": w.owner,
                    "reason": w.reason,
                    "ticket": w.ticket,
                    "expires": w.expires.format("%Y-%m-%d").to_string(),
                },
            }]),
        );
    }
    result
}

/// A relative URI reference for a file path: `/` separators, and percent-encoding for anything
/// outside RFC 3986's unreserved set (and `/`).
fn uri(path: &str) -> String {
    let mut out = String::new();
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn uris() {
        assert_eq!(
            super::uri("policies/release gate.yaml"),
            "policies/release%20gate.yaml"
        );
        assert_eq!(super::uri("a\\b.yaml"), "a/b.yaml");
    }
}
