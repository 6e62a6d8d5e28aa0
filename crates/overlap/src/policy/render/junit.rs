//! `--format junit`: JUnit XML for CI test reports. One test case per rule × bucket (several
//! findings of one rule on one bucket — one per intervention, say — share a test case), plus one
//! per required bucket without data and per expired or unused waiver.
//!
//! Mapping: a failing finding is a `<failure>` (warnings too under `--fail-on warn`); a waived
//! test case is `<skipped>` whose message carries owner, reason, ticket and expiry; a test case
//! with no data at all is `<skipped>`; every finding is listed in `<system-out>`. No `time`
//! attributes, so the bytes are deterministic.

use crate::escape::{xml_attr, xml_text};
use std::fmt::Write as _;

use super::{counts_line, full_text, title, verdict_word, waiver_text};
use crate::policy::findings::{Evaluation, Finding, FindingKind, Outcome};

struct Case<'e> {
    name: String,
    findings: Vec<&'e Finding>,
}

enum Status {
    Passed,
    Failed { kind: &'static str, message: String },
    Skipped { message: String },
}

pub(super) fn render(eval: &Evaluation) -> String {
    let cases = group(eval);
    let statuses: Vec<Status> = cases.iter().map(|c| status(eval, c)).collect();
    let failures = statuses
        .iter()
        .filter(|s| matches!(s, Status::Failed { .. }))
        .count();
    let skipped = statuses
        .iter()
        .filter(|s| matches!(s, Status::Skipped { .. }))
        .count();
    let suite = format!("overlap gate: {}", eval.policy.name);

    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">",
        xml_attr(&suite),
        cases.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" timestamp=\"{}\">",
        xml_attr(&suite),
        cases.len(),
        eval.evaluated_on.format("%Y-%m-%dT00:00:00")
    );
    out.push_str("    <properties>\n");
    let properties = [
        ("verdict", verdict_word(eval.verdict).to_owned()),
        ("summary", counts_line(eval)),
        ("policy", eval.policy.file.clone()),
        ("policy.digest", eval.policy.digest.clone()),
        (
            "dataset",
            format!("{}@{}", eval.dataset.name, eval.dataset.version),
        ),
        ("dataset.digest", eval.dataset.digest.clone()),
        (
            "evaluated_on",
            eval.evaluated_on.format("%Y-%m-%d").to_string(),
        ),
        ("tool_version", eval.tool_version.clone()),
    ];
    for (name, value) in properties {
        let _ = writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\"/>",
            xml_attr(&value)
        );
    }
    out.push_str("    </properties>\n");

    for (case, status) in cases.iter().zip(&statuses) {
        let first = case.findings.first();
        let line = first.map_or(0, |f| f.line);
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" line=\"{line}\"",
            xml_attr(&eval.policy.name),
            xml_attr(&case.name),
            xml_attr(&eval.policy.file)
        );
        out.push_str(">\n");
        match status {
            Status::Passed => {}
            Status::Failed { kind, message } => {
                let _ = writeln!(
                    out,
                    "      <failure type=\"{kind}\" message=\"{}\">{}</failure>",
                    xml_attr(message),
                    xml_text(&details(case, |f| matches!(
                        f.outcome,
                        Outcome::Fail | Outcome::Warn
                    )))
                );
            }
            Status::Skipped { message } => {
                let _ = writeln!(out, "      <skipped message=\"{}\"/>", xml_attr(message));
            }
        }
        let _ = writeln!(
            out,
            "      <system-out>{}</system-out>",
            xml_text(&details(case, |_| true))
        );
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Consecutive findings with the same kind, rule and bucket form one test case (the evaluation
/// orders them so that they are consecutive).
fn group(eval: &Evaluation) -> Vec<Case<'_>> {
    let mut cases: Vec<Case<'_>> = Vec::new();
    for f in &eval.findings {
        let name = title(f);
        match cases.last_mut() {
            Some(last)
                if last.name == name && last.findings.first().is_some_and(|x| x.kind == f.kind) =>
            {
                last.findings.push(f);
            }
            _ => cases.push(Case {
                name,
                findings: vec![f],
            }),
        }
    }
    cases
}

fn status(eval: &Evaluation, case: &Case<'_>) -> Status {
    let find = |o: Outcome| case.findings.iter().copied().find(|f| f.outcome == o);
    if let Some(f) = find(Outcome::Fail) {
        let kind = match f.kind {
            FindingKind::Rule => "fail",
            other => other.name(),
        };
        return Status::Failed {
            kind,
            message: f.message.clone(),
        };
    }
    if let (true, Some(f)) = (eval.fail_on_warn, find(Outcome::Warn)) {
        return Status::Failed {
            kind: "warn",
            message: f.message.clone(),
        };
    }
    if let Some(f) = find(Outcome::Waived) {
        let waiver = f.waiver.as_ref().map(waiver_text).unwrap_or_default();
        return Status::Skipped {
            message: format!("{}; {waiver}", f.message),
        };
    }
    if case.findings.iter().all(|f| f.outcome == Outcome::NoData) {
        let message = case
            .findings
            .first()
            .map(|f| f.message.clone())
            .unwrap_or_default();
        return Status::Skipped { message };
    }
    Status::Passed
}

fn details(case: &Case<'_>, keep: impl Fn(&Finding) -> bool) -> String {
    case.findings
        .iter()
        .filter(|f| keep(f))
        .map(|f| format!("{}: {}", f.outcome.name(), full_text(f)))
        .collect::<Vec<_>>()
        .join("\n")
}
