//! `--format github`: GitHub Actions workflow commands, one annotation per finding that is not a
//! pass, located at the rule's (or waiver's, or bucket's) line in the policy file, then a plain
//! summary line.
//!
//! Escaping follows the runner's rules: in messages `%`, CR and LF are percent-encoded; in
//! properties also `:` and `,`.

use crate::escape::{github_data, github_property};
use std::fmt::Write as _;

use super::{counts_line, full_text, title, verdict_word};
use crate::policy::findings::{Evaluation, Outcome};

pub(super) fn render(eval: &Evaluation) -> String {
    let mut out = String::new();
    for f in &eval.findings {
        let command = match f.outcome {
            Outcome::Pass => continue,
            Outcome::Fail => "error",
            Outcome::Warn if eval.fail_on_warn => "error",
            Outcome::Warn => "warning",
            Outcome::Waived | Outcome::NoData => "notice",
        };
        let title = format!("overlap gate {}: {}", f.outcome.name(), title(f));
        let _ = writeln!(
            out,
            "::{command} file={},line={},col={},title={}::{}",
            github_property(&eval.policy.file),
            f.line,
            f.column,
            github_property(&title),
            github_data(&full_text(f))
        );
    }
    let _ = writeln!(
        out,
        "overlap gate: {} (policy {} on {}@{}): {}",
        verdict_word(eval.verdict),
        crate::escape::terminal(&eval.policy.name),
        eval.dataset.name,
        eval.dataset.version,
        counts_line(eval)
    );
    out
}
