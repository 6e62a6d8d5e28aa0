//! Overlap-SLO policies: parse (with locations) → validate (every diagnostic) → evaluate (pure;
//! the findings are values, `findings`) → render (every CI format).
//!
//! The CLI reads the policy file and the inputs, calls these, prints the output and maps
//! [`GateVerdict`] to the exit code; nothing in this module prints, exits, reads files or clocks.

pub mod diagnostic;
pub mod evaluate;
pub mod findings;
pub mod metric;
pub mod parser;
pub mod render;
pub mod source;
pub mod spec;
pub mod test_result;
pub mod validate;

pub use diagnostic::{Diagnostic, Severity};
pub use evaluate::{EvaluateError, GateInput, evaluate};
pub use findings::{Evaluation, Finding, FindingKind, GateVerdict, Outcome};
pub use metric::Metric;
pub use parser::parse;
pub use render::{GateFormat, render};
pub use spec::Policy;
pub use validate::{DatasetContext, lint, validate};
