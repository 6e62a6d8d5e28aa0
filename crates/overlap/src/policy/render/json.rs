//! `--format json`: the [`Evaluation`] as pretty-printed JSON (shape documented in
//! `docs/gate-output.md`; field order is declaration order).

use crate::policy::findings::Evaluation;

pub(super) fn render(eval: &Evaluation) -> String {
    // The evaluation holds only strings, numbers, options, lists and structs with string keys,
    // so serialization cannot fail; the fallback keeps this function total without a panic.
    let mut out = serde_json::to_string_pretty(eval)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize evaluation: {e}\"}}"));
    out.push('\n');
    out
}
