//! `--format markdown`: a summary for a pull-request comment or `$GITHUB_STEP_SUMMARY`: the
//! verdict, a table of every finding that is not a pass, the waivers, and the identities.

use crate::escape::{markdown_cell, markdown_code};
use std::fmt::Write as _;

use super::{counts_line, evidence_text, short_digest, verdict_word, waiver_text};
use crate::model::number::format_number;
use crate::policy::findings::{Evaluation, FindingKind, GateVerdict, Outcome, WaiverState};
use crate::policy::spec::Op;

pub(super) fn render(eval: &Evaluation) -> String {
    let mut out = String::new();
    let mark = match eval.verdict {
        GateVerdict::Pass => "✅",
        GateVerdict::Fail => "❌",
    };
    let _ = writeln!(
        out,
        "### {mark} Overlap gate: {} — {} on {}\n",
        verdict_word(eval.verdict),
        markdown_code(&eval.policy.name),
        markdown_code(&format!("{}@{}", eval.dataset.name, eval.dataset.version)),
    );
    let _ = writeln!(out, "{}\n", counts_line(eval));

    let shown: Vec<_> = eval
        .findings
        .iter()
        .filter(|f| f.outcome != Outcome::Pass)
        .collect();
    if shown.is_empty() {
        let _ = writeln!(
            out,
            "Every rule passes on every bucket ({} checks).\n",
            eval.counts.pass
        );
    } else {
        out.push_str("| Result | Rule | Bucket | Check | Value | Margin | Evidence |\n");
        out.push_str("|---|---|---|---|---|---|---|\n");
        for f in shown {
            let result = match f.outcome {
                Outcome::Fail => "❌ fail",
                Outcome::Warn => "⚠️ warn",
                Outcome::Waived => "🟡 waived",
                Outcome::NoData => "◻️ no data",
                Outcome::Pass => "✅ pass",
            };
            let rule = match (f.kind, &f.rule) {
                (FindingKind::Rule, Some(r)) => markdown_code(r),
                (FindingKind::RequiredBucket, _) => "required bucket".to_owned(),
                (kind, Some(r)) => format!("{} {}", kind.name(), markdown_code(r)),
                (kind, None) => kind.name().to_owned(),
            };
            let check = match (f.op, f.threshold) {
                (Some(op), Some(t)) => {
                    format!(
                        "{} {} {}",
                        markdown_cell(&f.subject()),
                        op_symbol(op),
                        format_number(t)
                    )
                }
                _ => markdown_cell(&f.message),
            };
            let value = match (f.value, f.outcome) {
                (Some(v), _) => format_number(v),
                (None, Outcome::NoData) => "—".to_owned(),
                (None, _) if f.kind == FindingKind::Rule => "∞".to_owned(),
                (None, _) => "—".to_owned(),
            };
            let margin = f
                .margin
                .map_or_else(|| "—".to_owned(), super::human::signed);
            let mut evidence = evidence_text(f);
            // The table shows the check, not the message, so a no-data reason must be spelled out.
            if let (Outcome::NoData, Some(note)) = (f.outcome, &f.evidence.note) {
                if !evidence.contains(note.as_str()) {
                    evidence = if evidence.is_empty() {
                        note.clone()
                    } else {
                        format!("{note}; {evidence}")
                    };
                }
            }
            if let (FindingKind::Rule, Some(w)) = (f.kind, &f.waiver) {
                if !evidence.is_empty() {
                    evidence.push_str("; ");
                }
                evidence.push_str(&waiver_text(w));
            }
            let _ = writeln!(
                out,
                "| {result} | {rule} | {} | {} | {value} | {margin} | {} |",
                markdown_cell(&f.bucket),
                check,
                markdown_cell(&evidence)
            );
        }
        out.push('\n');
    }

    if !eval.waivers.is_empty() {
        out.push_str("#### Waivers\n\n");
        out.push_str("| State | Rule | Bucket | Owner | Reason | Ticket | Expires |\n");
        out.push_str("|---|---|---|---|---|---|---|\n");
        for w in &eval.waivers {
            let state = match w.state {
                WaiverState::Active => "active",
                WaiverState::Unused => "unused",
                WaiverState::Expired => "**expired**",
            };
            let _ = writeln!(
                out,
                "| {state} | {} | {} | {} | {} | {} | {} |",
                markdown_code(&w.rule),
                markdown_cell(&w.bucket),
                markdown_cell(&w.owner),
                markdown_cell(&w.reason),
                markdown_cell(&w.ticket),
                w.expires.format("%Y-%m-%d")
            );
        }
        out.push('\n');
    }

    let _ = writeln!(
        out,
        "<sub>policy {} (sha256 `{}`) · dataset digest `{}` · evaluated {} · overlap {}{}</sub>",
        markdown_code(&eval.policy.file),
        short_digest(&eval.policy.digest),
        short_digest(&eval.dataset.digest),
        eval.evaluated_on.format("%Y-%m-%d"),
        markdown_cell(&eval.tool_version),
        if eval.fail_on_warn {
            " · warnings fail the gate"
        } else {
            ""
        }
    );
    out
}

/// Typographic operators: they read better in a rendered table and need no HTML escaping.
fn op_symbol(op: Op) -> &'static str {
    match op {
        Op::Ge => "≥",
        Op::Gt => "&gt;",
        Op::Le => "≤",
        Op::Lt => "&lt;",
    }
}
