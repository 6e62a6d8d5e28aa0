//! Property tests: no input a user can write makes the policy pipeline panic, and whatever parses
//! also validates, evaluates and renders.

use crate::policy_support as common;

use overlap::policy::{GateFormat, lint, parse, render, validate};
use proptest::prelude::*;

const SHIPPED: [&str; 3] = [
    include_str!("../../policies/release-gate.yaml"),
    include_str!("../../policies/high-harm-strict.yaml"),
    include_str!("../../policies/drift-monitor.yaml"),
];

/// A shipped policy with one line deleted, duplicated or overwritten, or one byte range replaced:
/// close enough to real policies to reach deep into the parser and validator.
fn mutated() -> impl Strategy<Value = String> {
    (
        0..SHIPPED.len(),
        any::<prop::sample::Index>(),
        0u8..4,
        "[ -~\n]{0,12}",
    )
        .prop_map(|(which, at, how, text)| {
            let mut lines: Vec<String> = SHIPPED[which].lines().map(str::to_owned).collect();
            let i = at.index(lines.len());
            match how {
                0 => {
                    lines.remove(i);
                }
                1 => {
                    let line = lines[i].clone();
                    lines.insert(i, line);
                }
                2 => lines[i] = text,
                _ => {
                    let line = &mut lines[i];
                    let cut = line
                        .char_indices()
                        .map(|(c, _)| c)
                        .nth(line.chars().count() / 2)
                        .unwrap_or(0);
                    line.replace_range(cut.., &text);
                }
            }
            lines.join("\n")
        })
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = lint("fuzz.yaml", &text, Some(&common::demo_context()));
    }

    #[test]
    fn mutated_policies_never_panic_and_stay_consistent(text in mutated()) {
        let ctx = common::demo_context();
        let diagnostics = lint("fuzz.yaml", &text, Some(&ctx));
        for d in &diagnostics {
            prop_assert!(d.line >= 1 && d.column >= 1, "{d}");
            prop_assert!(d.code.starts_with("policy/"));
        }
        if let Ok(policy) = parse("fuzz.yaml", &text) {
            let semantic = validate(&policy, Some(&ctx));
            prop_assert!(semantic.iter().all(|d| diagnostics.contains(d)));
            if !semantic.iter().any(|d| d.is_error()) {
                let analysis = common::demo_analysis();
                let drift = common::demo_drift();
                let audits = common::demo_audits();
                if let Ok(eval) = overlap::policy::evaluate(&policy, &common::input(&analysis, Some(&drift), &audits)) {
                    for format in GateFormat::ALL {
                        prop_assert!(render(&eval, format).ends_with('\n'));
                    }
                }
            }
        }
    }
}
