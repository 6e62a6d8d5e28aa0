//! Colour on a terminal: `--color auto|always|never`, with `NO_COLOR` and `CLICOLOR_FORCE`
//! honoured under `auto`. Output is written in colour through `anstream`, which strips the escapes
//! when the stream is not a terminal (or colour is off), so files, pipes and tests get plain text.
//! The library renders plain text; colour is added here, to the words people scan for: verdicts,
//! finding outcomes and the `error`/`warning`/`note` prefixes.

use anstyle::{AnsiColor, Style};
use clap::ValueEnum;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorArg {
    /// Colour when the stream is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    Always,
    Never,
}

/// Sets the choice for every stream of the process (once, before any output).
pub(crate) fn init(choice: ColorArg) {
    anstream::ColorChoice::write_global(match choice {
        ColorArg::Auto => anstream::ColorChoice::Auto,
        ColorArg::Always => anstream::ColorChoice::Always,
        ColorArg::Never => anstream::ColorChoice::Never,
    });
}

const RED: Style = AnsiColor::Red.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default().bold();
const GREEN: Style = AnsiColor::Green.on_default().bold();
const CYAN: Style = AnsiColor::Cyan.on_default().bold();
const DIM: Style = Style::new().dimmed();

fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// The style of a word a line starts with, if it is one worth colouring.
fn style_of(word: &str) -> Option<Style> {
    Some(match word {
        "FAIL" | "FAILED" | "EXPIRED" | "NOT" | "ALTERED" => RED,
        "WARN" | "WAIVED" | "unused" => YELLOW,
        "PASS" | "pass" | "VERIFIED" | "active" => GREEN,
        "no-data" => DIM,
        _ => return None,
    })
}

/// A gate's human output with its verdict and each finding's outcome coloured.
pub(crate) fn gate(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("overlap gate: ") {
            let (word, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            match style_of(word) {
                Some(style) => {
                    out.push_str("overlap gate: ");
                    out.push_str(&paint(style, word));
                    out.push(' ');
                    out.push_str(tail);
                }
                None => out.push_str(line),
            }
            continue;
        }
        out.push_str(&lead(line));
    }
    out
}

/// `line` with its first word coloured when it is a verdict or outcome word (leading spaces kept).
pub(crate) fn lead(line: &str) -> String {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    let end = trimmed
        .find(|c: char| c.is_whitespace())
        .unwrap_or(trimmed.len());
    match style_of(&trimmed[..end]) {
        Some(style) => format!(
            "{indent}{}{}",
            paint(style, &trimmed[..end]),
            &trimmed[end..]
        ),
        None => line.to_string(),
    }
}

/// `error:`, `warning:` or `note:` (and a policy diagnostic's `error[code]:`), coloured.
pub(crate) fn diagnostic(text: &str) -> String {
    for (prefix, style) in [("error", RED), ("warning", YELLOW), ("note", CYAN)] {
        if let Some(rest) = text.strip_prefix(prefix) {
            if rest.starts_with(':') || rest.starts_with('[') {
                let end = rest.find(':').map_or(0, |i| i + 1);
                return format!(
                    "{}{}",
                    paint(style, &text[..prefix.len() + end]),
                    &rest[end..]
                );
            }
        }
    }
    text.to_string()
}
