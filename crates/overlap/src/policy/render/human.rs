//! `--format human`: aligned text for a terminal, one line per finding (passes included), an
//! evidence line under each finding that is not a pass, the waivers, and a summary.

use std::fmt::Write as _;

use super::{counts_line, evidence_text, short_digest, verdict_word, waiver_text};
use crate::escape::terminal;
use crate::model::number::format_number;
use crate::policy::findings::{
    Evaluation, Finding, FindingKind, Outcome, WaiverState, WaiverStatus,
};

pub(super) fn render(eval: &Evaluation) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "overlap gate: {} (policy {} on {}@{})",
        verdict_word(eval.verdict),
        terminal(&eval.policy.name),
        eval.dataset.name,
        eval.dataset.version
    );
    let _ = writeln!(
        out,
        "  policy   {} (sha256 {})",
        terminal(&eval.policy.file),
        short_digest(&eval.policy.digest)
    );
    let _ = writeln!(
        out,
        "  dataset  {}@{} (sha256 {})",
        eval.dataset.name,
        eval.dataset.version,
        short_digest(&eval.dataset.digest)
    );
    if let Some(b) = &eval.baseline {
        let _ = writeln!(out, "  baseline {b}");
    }
    let _ = writeln!(
        out,
        "  date     {} (overlap {})",
        eval.evaluated_on.format("%Y-%m-%d"),
        eval.tool_version
    );
    out.push('\n');

    let label = |f: &Finding| match f.kind {
        FindingKind::Rule => terminal(f.rule.as_deref().unwrap_or_default()).into_owned(),
        FindingKind::RequiredBucket => "(required bucket)".to_owned(),
        FindingKind::WaiverExpired => "(waiver expired)".to_owned(),
        FindingKind::WaiverUnused => "(waiver unused)".to_owned(),
        FindingKind::NothingChecked => "(nothing checked)".to_owned(),
    };
    let rule_width = eval
        .findings
        .iter()
        .map(|f| label(f).chars().count())
        .max()
        .unwrap_or(0);
    let bucket_width = eval
        .findings
        .iter()
        .map(|f| terminal(&f.bucket).chars().count())
        .max()
        .unwrap_or(0);
    for f in &eval.findings {
        let word = match f.outcome {
            Outcome::Pass => "pass",
            Outcome::Fail => "FAIL",
            Outcome::Waived => "WAIVED",
            Outcome::Warn => "WARN",
            Outcome::NoData => "no-data",
        };
        let margin = f
            .margin
            .map(|m| format!("  margin {}", signed(m)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{word:<7}  {:<rule_width$}  {:<bucket_width$}  {}{margin}",
            label(f),
            terminal(&f.bucket),
            terminal(&f.message)
        );
        if f.outcome != Outcome::Pass {
            let evidence = evidence_text(f);
            if !evidence.is_empty() {
                let _ = writeln!(out, "{:9}{}", "", terminal(&evidence));
            }
            if let (FindingKind::Rule, Some(w)) = (f.kind, &f.waiver) {
                let _ = writeln!(out, "{:9}{}", "", waiver_text(w));
            }
        }
    }

    if !eval.waivers.is_empty() {
        out.push_str("\nwaivers\n");
        let target = |w: &WaiverStatus| format!("{} [{}]", terminal(&w.rule), terminal(&w.bucket));
        let width = eval
            .waivers
            .iter()
            .map(|w| target(w).chars().count())
            .max()
            .unwrap_or(0);
        for w in &eval.waivers {
            let state = match w.state {
                WaiverState::Active => "active",
                WaiverState::Unused => "unused",
                WaiverState::Expired => "EXPIRED",
            };
            let _ = writeln!(
                out,
                "  {state:<7}  {:<width$}  owner {}  ticket {}  expires {}  reason: {}",
                target(w),
                terminal(&w.owner),
                terminal(&w.ticket),
                w.expires.format("%Y-%m-%d"),
                terminal(&w.reason)
            );
        }
    }

    let _ = writeln!(
        out,
        "\nresult: {} ({}){}",
        verdict_word(eval.verdict),
        counts_line(eval),
        if eval.fail_on_warn {
            "; warnings fail the gate"
        } else {
            ""
        }
    );
    out
}

/// Margins with an explicit sign, so `+0.01` (room to spare) and `-0.01` (short) read apart.
pub(super) fn signed(v: f64) -> String {
    let s = format_number(v);
    if v > 0.0 { format!("+{s}") } else { s }
}
