//! The built-in text feature map `text-v2` (the default for text-pair imports): interpretable
//! proxies φ(x, y) of one response — one length feature, list/heading/code/emphasis structure,
//! refusal, safety disclaimers, hedging, apologies, an opening compliance phrase, questions back
//! to the user, links and citations.
//!
//! Entry points: [`features`] (one response → `[f64; FEATURE_COUNT]`), [`FEATURE_NAMES`] (the
//! schema, in the order of the returned array) and [`MAP_NAME`]. The exact definitions are in
//! `docs/features.md`; this file is their implementation and must agree with it.
//!
//! Why a second map: `text-v1` measures length twice (`log_chars` and `log_words`, |r| ≥ 0.96 in
//! Δφ on every real corpus), so their contrast is the weakest direction of every dataset — an
//! artefact of the map (DESIGN.md §3). `text-v2` has exactly one length feature, `log_chars`,
//! defined as `text-v1`'s (the analysis derives `longer_share` from its sign), and no feature that
//! is a function of length. The features shared with `text-v1` use the same code
//! (`super::scan`); `emphasis` and `compliance` are new.
//!
//! Invariants (as for `text-v1`): total, deterministic, every value finite and ≥ 0, versioned —
//! any change to a definition, a list, the order or the scaling is `text-v3`, never an edit here.
//! No I/O; knows nothing of datasets or storage.

use std::sync::LazyLock;

use super::scan::{
    Category, count_citations, count_questions, expand_apostrophes, in_code, is_word_char,
    scan_lines, scan_phrases,
};

/// The stored name of this feature map. A change to any definition means a new name.
pub const MAP_NAME: &str = "text-v2";

/// Number of features produced by [`features`].
pub const FEATURE_COUNT: usize = 12;

/// Feature names, in the order of the array returned by [`features`]. Stable for `text-v2`.
pub const FEATURE_NAMES: &[&str] = &[
    "log_chars",
    "list_items",
    "headings",
    "code_blocks",
    "emphasis",
    "refusal",
    "disclaimer",
    "hedging",
    "apology",
    "compliance",
    "questions",
    "links",
];

const _: () = assert!(FEATURE_NAMES.len() == FEATURE_COUNT);

// Indices into the feature array (a unit test checks every index against its name).
const LOG_CHARS: usize = 0;
const LIST_ITEMS: usize = 1;
const HEADINGS: usize = 2;
const CODE_BLOCKS: usize = 3;
const EMPHASIS: usize = 4;
const REFUSAL: usize = 5;
const DISCLAIMER: usize = 6;
const HEDGING: usize = 7;
const APOLOGY: usize = 8;
const COMPLIANCE: usize = 9;
const QUESTIONS: usize = 10;
const LINKS: usize = 11;

/// Where each phrase category of the shared phrase pass is counted in this map.
fn category_feature(category: Category) -> usize {
    match category {
        Category::Refusal => REFUSAL,
        Category::Disclaimer => DISCLAIMER,
        Category::Hedging => HEDGING,
        Category::Apology => APOLOGY,
        Category::Link => LINKS,
    }
}

/// Phrases that open a compliant answer. Lowercase, `'` for any apostrophe (as the phrase lists of
/// `super::scan`); matched only at the start of the response (see [`opens_with_compliance`]).
const COMPLIANCE_PHRASES: &[&str] = &[
    "sure",
    "yes",
    "yeah",
    "yep",
    "ok",
    "okay",
    "of course",
    "certainly",
    "absolutely",
    "definitely",
    "no problem",
    "happy to help",
    "i'd be happy to",
    "i would be happy to",
    "i'd be glad to",
    "i would be glad to",
    "i can help",
    "here's",
    "here is",
    "here are",
    "great question",
    "good question",
];

/// Characters skipped before the opening phrase: quotation marks, brackets and emphasis markup
/// (`**Sure**`, `"Yes,`), besides whitespace.
const OPENING_MARKS: &[char] = &[
    '"', '\'', '(', '[', '*', '_', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{00AB}',
];

static COMPLIANCE_SPELLINGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut spellings: Vec<String> = Vec::new();
    for phrase in COMPLIANCE_PHRASES {
        for spelling in expand_apostrophes(phrase) {
            if !spellings.contains(&spelling) {
                spellings.push(spelling);
            }
        }
    }
    spellings
});

/// Computes the `text-v2` features of `response` to `prompt`, in the order of [`FEATURE_NAMES`].
///
/// Like `text-v1`, only the response is read (a feature of the shared prompt cancels in Δφ), and
/// every value is `ln(1 + n)` of a non-negative count `n` (`compliance` has n ∈ {0, 1}).
#[must_use]
pub fn features(prompt: &str, response: &str) -> [f64; FEATURE_COUNT] {
    let _ = prompt;
    let mut counts = [0usize; FEATURE_COUNT];
    counts[LOG_CHARS] = response.chars().count();
    let lines = scan_lines(response);
    counts[LIST_ITEMS] = lines.list_items;
    counts[HEADINGS] = lines.headings;
    counts[CODE_BLOCKS] = lines.code_blocks;
    let code_ranges = lines.code_ranges;
    counts[EMPHASIS] = count_emphasis(response, &code_ranges);
    let phrases = scan_phrases(response, &code_ranges);
    for category in Category::ALL {
        counts[category_feature(category)] += phrases.get(category.slot()).copied().unwrap_or(0);
    }
    counts[COMPLIANCE] = usize::from(opens_with_compliance(response, &code_ranges));
    counts[QUESTIONS] = count_questions(response, &code_ranges);
    counts[LINKS] += count_citations(response, &code_ranges);
    // `usize as f64` is exact below 2^53, far beyond any text that fits in memory.
    counts.map(|n| (n as f64).ln_1p())
}

/// Emphasis spans outside fenced code, per line: a delimiter run is a maximal run of 1–3 `*` or
/// 1–3 `_`. A run opens a span when it is followed by a non-whitespace character (and, for `_`,
/// not preceded by a letter or digit); the span closes at the next run of the same character and
/// length on the same line that is preceded by a non-whitespace character (and, for `_`, not
/// followed by a letter or digit). Each closed span counts 1; an unclosed opener counts 0.
fn count_emphasis(text: &str, code_ranges: &[(usize, usize)]) -> usize {
    if !text.contains(['*', '_']) {
        return 0;
    }
    let mut spans = 0;
    let mut offset = 0;
    for raw_line in text.split('\n') {
        let line_start = offset;
        offset += raw_line.len() + 1;
        if !raw_line.contains(['*', '_']) || in_code(code_ranges, line_start) {
            continue;
        }
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        spans += line_emphasis(line);
    }
    spans
}

fn line_emphasis(line: &str) -> usize {
    let chars: Vec<char> = line.chars().collect();
    let mut spans = 0;
    // The open span's delimiter: (character, run length).
    let mut open: Option<(char, usize)> = None;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c != '*' && c != '_' {
            i += 1;
            continue;
        }
        let run = chars.get(i..).unwrap_or_default();
        let run = run.iter().take_while(|&&x| x == c).count();
        let before = i.checked_sub(1).and_then(|j| chars.get(j)).copied();
        let after = chars.get(i + run).copied();
        i += run;
        if run > 3 {
            continue;
        }
        let intraword_ok =
            |neighbour: Option<char>| c == '*' || neighbour.is_none_or(|x| !x.is_alphanumeric());
        let can_open = after.is_some_and(|x| !x.is_whitespace()) && intraword_ok(before);
        let can_close = before.is_some_and(|x| !x.is_whitespace()) && intraword_ok(after);
        match open {
            Some(delimiter) if delimiter == (c, run) && can_close => {
                spans += 1;
                open = None;
            }
            None if can_open => open = Some((c, run)),
            _ => {}
        }
    }
    spans
}

/// Whether the response opens (after whitespace and [`OPENING_MARKS`]) with one of
/// [`COMPLIANCE_PHRASES`] as whole words, ASCII case-insensitive, any apostrophe. A response that
/// opens with fenced code does not.
fn opens_with_compliance(text: &str, code_ranges: &[(usize, usize)]) -> bool {
    let rest = text.trim_start_matches(|c: char| c.is_whitespace() || OPENING_MARKS.contains(&c));
    let start = text.len() - rest.len();
    if in_code(code_ranges, start) {
        return false;
    }
    COMPLIANCE_SPELLINGS.iter().any(|phrase| {
        rest.as_bytes()
            .get(..phrase.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(phrase.as_bytes()))
            && rest
                .get(phrase.len()..)
                .is_some_and(|after| after.chars().next().is_none_or(|c| !is_word_char(c)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feature(name: &str, response: &str) -> f64 {
        let index = FEATURE_NAMES
            .iter()
            .position(|n| *n == name)
            .unwrap_or_else(|| panic!("no feature {name}"));
        features("", response)[index]
    }

    /// The raw count behind a feature (all features are ln(1 + count)).
    fn count(name: &str, response: &str) -> f64 {
        let value = feature(name, response).exp_m1();
        assert!(
            (value - value.round()).abs() < 1e-9,
            "{name} of {response:?} is not ln(1 + integer): {value}"
        );
        value.round()
    }

    #[test]
    fn indices_match_names() {
        let pairs = [
            (LOG_CHARS, "log_chars"),
            (LIST_ITEMS, "list_items"),
            (HEADINGS, "headings"),
            (CODE_BLOCKS, "code_blocks"),
            (EMPHASIS, "emphasis"),
            (REFUSAL, "refusal"),
            (DISCLAIMER, "disclaimer"),
            (HEDGING, "hedging"),
            (APOLOGY, "apology"),
            (COMPLIANCE, "compliance"),
            (QUESTIONS, "questions"),
            (LINKS, "links"),
        ];
        for (index, name) in pairs {
            assert_eq!(FEATURE_NAMES.get(index), Some(&name));
        }
        for (i, name) in FEATURE_NAMES.iter().enumerate() {
            assert!(!FEATURE_NAMES[..i].contains(name), "duplicate {name}");
        }
    }

    #[test]
    fn one_length_feature() {
        assert!(!FEATURE_NAMES.contains(&"log_words"));
        for text in ["", "héllo wörld", "日本語", "a\r\nb", "I can't. **No.**"] {
            assert_eq!(
                feature("log_chars", text),
                super::super::text_v1::features("", text)[0]
            );
        }
        assert_eq!(count("log_chars", "héllo wörld"), 11.0);
    }

    /// Every feature the two maps share has the same value (same code, same definition).
    #[test]
    fn shared_features_agree_with_text_v1() {
        let text = "I’m sorry, I can’t. It might be illegal; please consult your doctor.\n\
                    # Head\n- item\n1. step\n```\ncode?\n```\nWhy? See https://x.org [1].";
        let v1 = super::super::text_v1::features("", text);
        for (j, name) in super::super::text_v1::FEATURE_NAMES.iter().enumerate() {
            if let Some(k) = FEATURE_NAMES.iter().position(|n| n == name) {
                assert_eq!(features("", text)[k], v1[j], "{name}");
            }
        }
    }

    #[test]
    fn emphasis() {
        assert_eq!(
            count("emphasis", "**bold** and *italic* and __b__ and _i_"),
            4.0
        );
        assert_eq!(count("emphasis", "***both*** *laughs* **Note:** read"), 3.0);
        assert_eq!(count("emphasis", "2*3*4"), 1.0);
        // `_` inside a word neither opens nor closes; `__init__` between spaces is a span.
        assert_eq!(count("emphasis", "snake_case_name and __init__.py"), 1.0);
        // Not emphasis: snake_case, list bullets, spaced operators, unclosed or mismatched runs,
        // runs longer than three, spans across lines, and fenced code.
        assert_eq!(count("emphasis", "my_var_x"), 0.0);
        assert_eq!(count("emphasis", "* item\n* item\n2 * 3 * 4"), 0.0);
        assert_eq!(count("emphasis", "*open and **mixed ****four****"), 0.0);
        assert_eq!(count("emphasis", "*across\nlines*"), 0.0);
        assert_eq!(count("emphasis", "```\n**code**\n```\n"), 0.0);
        assert_eq!(count("emphasis", "a * b* and *c *"), 0.0);
    }

    #[test]
    fn compliance() {
        for text in [
            "Sure, here is how.",
            "  **Yes!** Do this.",
            "\"Of course.\"",
            "Okay",
            "Here’s what you can do:",
            "HERES the plan",
            "I’d be happy to help.",
        ] {
            assert_eq!(count("compliance", text), 1.0, "{text:?}");
        }
        for text in [
            "I'm sorry, sure is not what I'd say.",
            "Surely not.",
            "Yesterday it rained.",
            "Okayish.",
            "What? Sure.",
            "```\nsure\n```",
            "",
        ] {
            assert_eq!(count("compliance", text), 0.0, "{text:?}");
        }
    }

    /// The compliance phrase list of docs/features.md is the list of this file, item for item.
    #[test]
    fn compliance_list_matches_the_docs() {
        let doc = include_str!("../../../../docs/features.md");
        let heading = "**`compliance`**";
        let start = doc
            .find(heading)
            .unwrap_or_else(|| panic!("docs/features.md has no {heading} paragraph"));
        let paragraph = doc[start + heading.len()..]
            .split("\n\n")
            .next()
            .unwrap_or_default();
        let documented: Vec<&str> = paragraph.split('`').skip(1).step_by(2).collect();
        assert_eq!(documented, COMPLIANCE_PHRASES);
    }

    #[test]
    fn values_are_finite_and_deterministic() {
        let long = "*".repeat(10_000);
        let samples = [
            "",
            "\u{0}\u{FFFF}\u{10FFFF}",
            long.as_str(),
            "_*_*_",
            "’’’ sure",
        ];
        for text in samples {
            let first = features("", text);
            assert!(first.iter().all(|v| v.is_finite() && *v >= 0.0), "{text:?}");
            assert_eq!(first, features("", text));
        }
        assert_eq!(features("", ""), [0.0; FEATURE_COUNT]);
    }
}
