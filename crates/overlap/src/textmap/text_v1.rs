//! The built-in text feature map `text-v1`: interpretable proxies φ(x, y) computed from one
//! response (length, list/heading/code structure, refusal, safety disclaimers, hedging, apologies,
//! questions back to the user, links and citations).
//!
//! Entry points: [`features`] (one response → `[f64; FEATURE_COUNT]`), [`FEATURE_NAMES`] (the
//! schema, in the order of the returned array) and [`MAP_NAME`]. The exact definition of every
//! feature is in `docs/features.md`; this file is its implementation and must agree with it.
//!
//! Invariants: the map is total (any `&str`, including the empty string), deterministic (no
//! locale, no clock, no randomness, no hash-order dependence) and every value is finite and ≥ 0.
//! It is *versioned*: the name `text-v1` is stored with every imported dataset, so any change to a
//! definition, a phrase list, the order of features or the scaling is a new map (`text-v2`), never
//! an edit of this one. It does no I/O and knows nothing of datasets or storage.
//!
//! The line pass, the question and citation scans and the phrase pass (with its lists) live in
//! `super::scan`, shared with later maps and frozen with this one; `tests/it/textmap.rs` pins every
//! value this map gives on the HH-RLHF file.
//!
//! Speed: a few linear passes, each tight: `chars().count()`, a byte loop for words, a line pass
//! that looks only at line starts (structure), `memchr` scans for `?` and `[`, and one Aho–Corasick
//! pass over all phrase lists at once. Nothing is allocated per phrase (a `Vec` is allocated only
//! when the response contains fenced code).

use super::scan::{Category, count_citations, count_questions, scan_lines, scan_phrases};
#[cfg(test)]
use super::scan::{MATCHER, phrase_lists};

/// The stored name of this feature map. A change to any definition means a new name.
pub const MAP_NAME: &str = "text-v1";

/// Number of features produced by [`features`].
pub const FEATURE_COUNT: usize = 11;

/// Feature names, in the order of the array returned by [`features`]. Stable for `text-v1`.
pub const FEATURE_NAMES: &[&str] = &[
    "log_chars",
    "log_words",
    "list_items",
    "headings",
    "code_blocks",
    "refusal",
    "disclaimer",
    "hedging",
    "apology",
    "questions",
    "links",
];

const _: () = assert!(FEATURE_NAMES.len() == FEATURE_COUNT);

// Indices into the feature array; kept next to FEATURE_NAMES so the two cannot drift apart silently
// (a unit test checks every index against its name).
const LOG_CHARS: usize = 0;
const LOG_WORDS: usize = 1;
const LIST_ITEMS: usize = 2;
const HEADINGS: usize = 3;
const CODE_BLOCKS: usize = 4;
const REFUSAL: usize = 5;
const DISCLAIMER: usize = 6;
const HEDGING: usize = 7;
const APOLOGY: usize = 8;
const QUESTIONS: usize = 9;
const LINKS: usize = 10;

/// Where each phrase category is counted in this map's feature array.
trait FeatureIndex {
    fn feature(self) -> usize;
}

impl FeatureIndex for Category {
    fn feature(self) -> usize {
        match self {
            Category::Refusal => REFUSAL,
            Category::Disclaimer => DISCLAIMER,
            Category::Hedging => HEDGING,
            Category::Apology => APOLOGY,
            Category::Link => LINKS,
        }
    }
}

/// Computes the `text-v1` features of `response` to `prompt`, in the order of [`FEATURE_NAMES`].
///
/// `text-v1` reads only the response: a feature of the prompt alone would cancel in the
/// difference Δφ = φ(x, y_a) − φ(x, y_b), because both sides of a pair share the prompt. The
/// prompt is part of the signature so that later maps can use it (e.g. overlap with the prompt).
///
/// Every value is `ln(1 + n)` of a non-negative count `n`, so it is finite and ≥ 0; see
/// `docs/features.md` for why counts are log-compressed rather than used raw or per 100 words.
#[must_use]
pub fn features(prompt: &str, response: &str) -> [f64; FEATURE_COUNT] {
    let _ = prompt;
    let mut counts = [0usize; FEATURE_COUNT];
    counts[LOG_CHARS] = response.chars().count();
    counts[LOG_WORDS] = count_words(response);
    let lines = scan_lines(response);
    counts[LIST_ITEMS] = lines.list_items;
    counts[HEADINGS] = lines.headings;
    counts[CODE_BLOCKS] = lines.code_blocks;
    let code_ranges = lines.code_ranges;
    counts[QUESTIONS] = count_questions(response, &code_ranges);
    let phrases = scan_phrases(response, &code_ranges);
    for category in Category::ALL {
        counts[category.feature()] += phrases.get(category.slot()).copied().unwrap_or(0);
    }
    counts[LINKS] += count_citations(response, &code_ranges);
    // `usize as f64` is exact below 2^53, far beyond any text that fits in memory.
    counts.map(|n| (n as f64).ln_1p())
}

/// Maximal runs of non-whitespace characters (Unicode `White_Space`, as `char::is_whitespace`),
/// as `wc -w` counts them.
///
/// Fast path: when the text holds no multi-byte whitespace character (U+0085, U+00A0, U+1680,
/// U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000 — rare in practice), every non-ASCII byte
/// can be treated as a word byte, and a word start is an ASCII-whitespace byte followed by any
/// other byte: a loop over byte pairs that the compiler vectorizes. Otherwise a `char` loop.
fn count_words(text: &str) -> usize {
    let bytes = text.as_bytes();
    if has_multibyte_whitespace(bytes) {
        return count_words_by_char(text);
    }
    let first = usize::from(bytes.first().is_some_and(|b| !is_ascii_space(*b)));
    let next = bytes.get(1..).unwrap_or_default();
    first
        + bytes
            .iter()
            .zip(next)
            .map(|(&a, &b)| usize::from(is_ascii_space(a) & !is_ascii_space(b)))
            .sum::<usize>()
}

/// `char::is_whitespace` restricted to ASCII (unlike `u8::is_ascii_whitespace`, it includes the
/// vertical tab).
fn is_ascii_space(b: u8) -> bool {
    // b' ' or b'\t'..=b'\r', written without branches so the pair loop vectorizes.
    (b == b' ') | (b.wrapping_sub(b'\t') < 5)
}

fn count_words_by_char(text: &str) -> usize {
    let mut words = 0;
    let mut in_word = false;
    for c in text.chars() {
        let white = c.is_whitespace();
        words += usize::from(!white & !in_word);
        in_word = !white;
    }
    words
}

/// Whether valid UTF-8 `bytes` contain a non-ASCII whitespace character. Only the lead bytes
/// 0xC2, 0xE1, 0xE2 and 0xE3 can start one; the common `’` (E2 80 99) is checked and rejected.
fn has_multibyte_whitespace(bytes: &[u8]) -> bool {
    let starts_whitespace =
        |position: usize| multibyte_whitespace(bytes.get(position..).unwrap_or_default());
    memchr::memchr3_iter(0xC2, 0xE1, 0xE2, bytes).any(starts_whitespace)
        || memchr::memchr_iter(0xE3, bytes).any(starts_whitespace)
}

/// Whether `bytes` starts with a non-ASCII whitespace character (UTF-8 encodings of the
/// characters listed at `count_words`). A unit test checks `count_words` against
/// `char::is_whitespace` for every scalar value.
fn multibyte_whitespace(bytes: &[u8]) -> bool {
    matches!(
        bytes,
        [0xC2, 0x85 | 0xA0, ..]
            | [0xE1, 0x9A, 0x80, ..]
            | [0xE2, 0x80, 0x80..=0x8A | 0xA8 | 0xA9 | 0xAF, ..]
            | [0xE2, 0x81, 0x9F, ..]
            | [0xE3, 0x80, 0x80, ..]
    )
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
    fn matcher_builds() {
        let matcher = &*MATCHER;
        assert_eq!(matcher.automaton.patterns_len(), matcher.categories.len());
    }

    #[test]
    fn indices_match_names() {
        let pairs = [
            (LOG_CHARS, "log_chars"),
            (LOG_WORDS, "log_words"),
            (LIST_ITEMS, "list_items"),
            (HEADINGS, "headings"),
            (CODE_BLOCKS, "code_blocks"),
            (REFUSAL, "refusal"),
            (DISCLAIMER, "disclaimer"),
            (HEDGING, "hedging"),
            (APOLOGY, "apology"),
            (QUESTIONS, "questions"),
            (LINKS, "links"),
        ];
        for (index, name) in pairs {
            assert_eq!(FEATURE_NAMES.get(index), Some(&name));
        }
        for category in Category::ALL {
            assert!(category.feature() < FEATURE_COUNT);
        }
    }

    #[test]
    fn names_are_snake_case_and_unique() {
        for (i, name) in FEATURE_NAMES.iter().enumerate() {
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
            assert!(!FEATURE_NAMES[..i].contains(name), "duplicate {name}");
        }
    }

    #[test]
    fn empty_input_is_all_zero() {
        assert_eq!(features("", ""), [0.0; FEATURE_COUNT]);
        assert_eq!(features("a prompt?", ""), [0.0; FEATURE_COUNT]);
    }

    #[test]
    fn prompt_is_ignored() {
        let response = "I'm sorry, I can't help with that. Is there something else?";
        assert_eq!(
            features("", response),
            features("Tell me how to pick a lock. http://x.y", response)
        );
    }

    #[test]
    fn length_counts_unicode_scalars_and_words() {
        assert_eq!(count("log_chars", "héllo wörld"), 11.0);
        assert_eq!(count("log_chars", "日本語"), 3.0);
        assert_eq!(count("log_chars", "a\r\nb"), 4.0);
        assert_eq!(count("log_words", "  one  two\tthree\n\nfour "), 4.0);
        assert_eq!(count("log_words", "it’s well-known, ok?"), 3.0);
        // U+00A0 (no-break space) and U+3000 (ideographic space) separate words.
        assert_eq!(count("log_words", "a\u{00A0}b\u{3000}c"), 3.0);
        assert_eq!(count("log_words", "   \n\t "), 0.0);
        assert!((feature("log_chars", "abc") - 4f64.ln()).abs() < 1e-15);
    }

    #[test]
    fn word_splitting_agrees_with_char_is_whitespace() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let text = format!("a{c}b");
            let expected = if c.is_whitespace() { 2 } else { 1 };
            assert_eq!(count_words(&text), expected, "U+{:04X}", c as u32);
            assert_eq!(count_words_by_char(&text), expected, "U+{:04X}", c as u32);
            for tail in [" z", "\u{3000}z"] {
                let mixed = format!(" x’{c}y{tail} ");
                assert_eq!(count_words(&mixed), 1 + expected, "U+{:04X}", c as u32);
            }
        }
    }

    #[test]
    fn list_items() {
        let text = "Options:\n- one\n* two\n  + three\n• four\n1. five\n2) six\n10. seven";
        assert_eq!(count("list_items", text), 7.0);
        // Not list items: no space after the marker, emphasis, thematic breaks, years, empty items.
        let text = "-dash\n*bold*\n* * *\n---\n- - -\n2020. A year\n1.5 litres\n- \n1.";
        assert_eq!(count("list_items", text), 0.0);
    }

    #[test]
    fn headings() {
        assert_eq!(count("headings", "# Title\n## Sub\n###### Six\n#\n"), 4.0);
        assert_eq!(
            count("headings", "#hashtag\n####### seven\nC# is a language"),
            0.0
        );
    }

    #[test]
    fn code_blocks_and_their_content() {
        let text = "Run this:\n```python\n# not a heading\n- not a list\nx = a if b else c?\nprint('sorry, I cannot')\n```\nDone?\n~~~\nunclosed";
        assert_eq!(count("code_blocks", text), 2.0);
        assert_eq!(count("headings", text), 0.0);
        assert_eq!(count("list_items", text), 0.0);
        assert_eq!(count("apology", text), 0.0);
        assert_eq!(count("refusal", text), 0.0);
        assert_eq!(count("questions", text), 1.0);
        // A longer closing fence closes; a shorter one or another character does not.
        assert_eq!(count("code_blocks", "````\n```\n~~~\n````\n```\n```"), 2.0);
    }

    #[test]
    fn refusal_folds_case_and_apostrophes() {
        assert_eq!(count("refusal", "I can't do that."), 1.0);
        assert_eq!(count("refusal", "I can’t do that."), 1.0);
        assert_eq!(count("refusal", "i CANT do that"), 1.0);
        assert_eq!(count("refusal", "I cannot. I won’t. I’m not able to."), 3.0);
        assert_eq!(
            count("refusal", "As an AI language model, I am unable to help."),
            2.0
        );
        // Word boundaries: "hi can't" has no first-person "i"; "as an aide" is not "as an ai".
        assert_eq!(count("refusal", "Hi can't, as an aide, I cannotify"), 0.0);
        assert_eq!(count("refusal", "Sure, here is how."), 0.0);
    }

    #[test]
    fn disclaimer() {
        assert_eq!(
            count(
                "disclaimer",
                "That is illegal and dangerous. Please consult your doctor."
            ),
            3.0
        );
        assert_eq!(
            count("disclaimer", "I must warn you: it's against the law."),
            2.0
        );
        assert_eq!(count("disclaimer", "Illegally parked cars are towed."), 1.0);
        assert_eq!(count("disclaimer", "The warden was harmless."), 0.0);
    }

    #[test]
    fn hedging_counts_overlaps_once() {
        assert_eq!(
            count("hedging", "It might be that I think so, perhaps."),
            3.0
        );
        assert_eq!(count("hedging", "I’m not sure. I don't know."), 2.0);
        assert_eq!(count("hedging", "A mighty river, maybelline."), 0.0);
        assert_eq!(count("hedging", "It seems so; it seemed so."), 2.0);
    }

    #[test]
    fn apology() {
        assert_eq!(
            count("apology", "I'm sorry. My apologies, I apologize."),
            3.0
        );
        assert_eq!(count("apology", "Sorrynotsorry"), 0.0);
    }

    #[test]
    fn categories_count_independently() {
        let text = "I’m sorry, but I can’t help with that; it might be illegal.";
        assert_eq!(count("apology", text), 1.0);
        assert_eq!(count("refusal", text), 1.0);
        assert_eq!(count("hedging", text), 1.0);
        assert_eq!(count("disclaimer", text), 1.0);
    }

    #[test]
    fn questions() {
        assert_eq!(count("questions", "What do you mean? Why?!"), 2.0);
        assert_eq!(
            count("questions", "Really??? \"Is it?\" (Sure?) **Why?**"),
            4.0
        );
        assert_eq!(count("questions", "See https://x.com/?q=1 and a?b"), 0.0);
        assert_eq!(count("questions", "Wow! Great."), 0.0);
        assert_eq!(count("questions", "Is it?\nYes?"), 2.0);
    }

    #[test]
    fn links_and_citations() {
        assert_eq!(
            count(
                "links",
                "See https://www.example.org/a and www.b.com or http://c.d [1] [^2]."
            ),
            5.0
        );
        assert_eq!(count("links", "array[i] [1234] [] [a] xwww.nope"), 0.0);
        assert_eq!(count("links", "As shown [12], [3]."), 2.0);
    }

    /// The phrase lists of docs/features.md are the lists of this file, item for item.
    #[test]
    fn phrase_lists_match_the_docs() {
        let doc = include_str!("../../../../docs/features.md");
        let names = ["refusal", "disclaimer", "hedging", "apology", "links"];
        for (name, (category, phrases)) in names.iter().zip(phrase_lists()) {
            assert_eq!(FEATURE_NAMES.get(category.feature()), Some(name));
            let heading = format!("**`{name}`**");
            let start = doc
                .find(&heading)
                .unwrap_or_else(|| panic!("docs/features.md has no {heading} paragraph"));
            let paragraph = doc[start + heading.len()..]
                .split("\n\n")
                .next()
                .unwrap_or_default();
            let documented: Vec<&str> = paragraph.split('`').skip(1).step_by(2).collect();
            assert_eq!(documented, phrases, "{name}");
        }
    }

    #[test]
    fn values_are_finite_and_deterministic() {
        let long = "?".repeat(10_000);
        let samples = [
            "",
            "\u{0}\u{FFFF}\u{10FFFF}",
            long.as_str(),
            "```\n```\n```",
            "[[[[1]]]] [^] [^1",
            "’’’ i’ i ’m",
        ];
        for text in samples {
            let first = features("", text);
            assert!(first.iter().all(|v| v.is_finite() && *v >= 0.0), "{text:?}");
            assert_eq!(first, features("", text));
        }
    }
}
