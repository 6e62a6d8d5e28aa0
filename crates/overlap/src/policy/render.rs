//! Gate outputs: one small renderer per format over the same [`Evaluation`].
//!
//! Entry point: [`render`]. Every format shows every finding that is not a pass (waived findings
//! with owner, reason, ticket and expiry — never hidden) and is byte-for-byte deterministic: no
//! clock, no environment, no hash-map order. Renderers read only the `Evaluation`, so a stored
//! evaluation re-renders identically. They never decide the exit code.

mod github;
mod human;
mod json;
mod junit;
mod markdown;
mod sarif;

use std::fmt;

use crate::model::number::format_number;
use crate::policy::findings::{Evaluation, Finding, FindingKind, GateVerdict, WaiverRef};

/// An output format of `overlap gate --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GateFormat {
    /// Aligned text for a terminal.
    Human,
    /// The [`Evaluation`] itself (documented in `docs/gate-output.md`).
    Json,
    /// JUnit XML: one test case per rule × bucket.
    Junit,
    /// SARIF 2.1.0: one result per failing, warning or waived finding.
    Sarif,
    /// GitHub Actions workflow commands (`::error file=…,line=…::…`).
    Github,
    /// A Markdown summary for a pull-request comment or `$GITHUB_STEP_SUMMARY`.
    Markdown,
}

impl GateFormat {
    pub const ALL: [GateFormat; 6] = [
        GateFormat::Human,
        GateFormat::Json,
        GateFormat::Junit,
        GateFormat::Sarif,
        GateFormat::Github,
        GateFormat::Markdown,
    ];

    /// The `--format` value.
    pub const fn name(self) -> &'static str {
        match self {
            GateFormat::Human => "human",
            GateFormat::Json => "json",
            GateFormat::Junit => "junit",
            GateFormat::Sarif => "sarif",
            GateFormat::Github => "github",
            GateFormat::Markdown => "markdown",
        }
    }

    pub fn from_name(name: &str) -> Option<GateFormat> {
        GateFormat::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for GateFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Renders an evaluation. The text ends with a newline.
pub fn render(eval: &Evaluation, format: GateFormat) -> String {
    match format {
        GateFormat::Human => human::render(eval),
        GateFormat::Json => json::render(eval),
        GateFormat::Junit => junit::render(eval),
        GateFormat::Sarif => sarif::render(eval),
        GateFormat::Github => github::render(eval),
        GateFormat::Markdown => markdown::render(eval),
    }
}

fn verdict_word(v: GateVerdict) -> &'static str {
    match v {
        GateVerdict::Pass => "PASS",
        GateVerdict::Fail => "FAIL",
    }
}

/// `1 fail, 1 waived, 0 warn, 2 no-data, 5 pass`.
fn counts_line(eval: &Evaluation) -> String {
    let c = eval.counts;
    format!(
        "{} fail, {} waived, {} warn, {} no-data, {} pass",
        c.fail, c.waived, c.warn, c.no_data, c.pass
    )
}

/// The evidence of a finding in one line, e.g. `n=120; weakest direction: mostly +length −refusal`.
fn evidence_text(f: &Finding) -> String {
    let e = &f.evidence;
    let mut parts = Vec::new();
    if e.n > 0 {
        parts.push(format!("n={}", e.n));
    }
    if e.unidentified {
        parts.push("unidentified".to_owned());
    }
    if let Some(w) = &e.weakest_direction {
        parts.push(format!("weakest direction: {w}"));
    }
    if let Some(q) = &e.quadrants {
        parts.push(format!(
            "quadrants ++ {}, +- {}, -+ {}, -- {}",
            q.pp, q.pm, q.mp, q.mm
        ));
    }
    if let (Some(attempts), Some(accepted)) = (e.attempts, e.accepted) {
        parts.push(format!("accepted {accepted}/{attempts}"));
    }
    if let Some(audited) = e.audited {
        parts.push(format!("audited {audited}"));
    }
    if let Some([low, high]) = e.interval {
        parts.push(format!(
            "95% interval {}–{}",
            format_number(low),
            format_number(high)
        ));
    }
    if let Some(b) = &e.baseline {
        parts.push(format!("baseline {b}"));
    }
    if let Some(note) = &e.note {
        if !f.message.contains(note.as_str()) {
            parts.push(note.clone());
        }
    }
    parts.join("; ")
}

/// `waived by OWNER until YYYY-MM-DD (TICKET): REASON`.
fn waiver_text(w: &WaiverRef) -> String {
    format!(
        "waived by {} until {} ({}): {}",
        w.owner,
        w.expires.format("%Y-%m-%d"),
        w.ticket,
        w.reason
    )
}

/// The finding's message with its evidence and waiver, in one line.
fn full_text(f: &Finding) -> String {
    let mut text = f.message.clone();
    let evidence = evidence_text(f);
    if !evidence.is_empty() {
        text.push_str(" [");
        text.push_str(&evidence);
        text.push(']');
    }
    if let (FindingKind::Rule, Some(w)) = (f.kind, &f.waiver) {
        text.push_str("; ");
        text.push_str(&waiver_text(w));
    }
    text
}

/// The first 12 hex digits of a digest, for people (the full digest is in JSON and SARIF).
fn short_digest(d: &str) -> &str {
    d.get(..12).unwrap_or(d)
}

/// `rule [bucket]`, or the finding kind for findings without a rule.
fn title(f: &Finding) -> String {
    match (f.kind, &f.rule) {
        (FindingKind::Rule, Some(rule)) => format!("{rule} [{}]", f.bucket),
        (FindingKind::RequiredBucket, _) => format!("required bucket [{}]", f.bucket),
        (kind, Some(rule)) => format!("{} {rule} [{}]", kind.name(), f.bucket),
        (kind, None) => format!("{} [{}]", kind.name(), f.bucket),
    }
}
