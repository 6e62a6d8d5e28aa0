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
//! Speed: a few linear passes, each tight: `chars().count()`, a byte loop for words, a line pass
//! that looks only at line starts (structure), `memchr` scans for `?` and `[`, and one Aho–Corasick
//! pass over all phrase lists at once. Nothing is allocated per phrase (a `Vec` is allocated only
//! when the response contains fenced code).

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

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

/// Phrase categories matched by the Aho–Corasick pass. `Link` covers URL starts; the bracketed
/// citation markers of the `links` feature are found in the line pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Category {
    Refusal,
    Disclaimer,
    Hedging,
    Apology,
    Link,
}

impl Category {
    const ALL: [Category; 5] = [
        Category::Refusal,
        Category::Disclaimer,
        Category::Hedging,
        Category::Apology,
        Category::Link,
    ];

    fn slot(self) -> usize {
        match self {
            Category::Refusal => 0,
            Category::Disclaimer => 1,
            Category::Hedging => 2,
            Category::Apology => 3,
            Category::Link => 4,
        }
    }

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

// Phrase lists. Written lowercase with the ASCII apostrophe; matching is ASCII case-insensitive and
// every apostrophe stands for any of APOSTROPHES (see `expand_apostrophes`). A phrase counts only as
// a whole word sequence (see `is_word_boundary`), so "might" does not match "mighty".
// Nested phrases ("i'm not able to" / "as an ai" inside longer ones) are harmless: overlapping matches
// of one category count once.
const REFUSAL_PHRASES: &[&str] = &[
    "i can't",
    "i cannot",
    "i can not",
    "i won't",
    "i will not",
    "i'm not able to",
    "i am not able to",
    "i'm unable to",
    "i am unable to",
    "i'm not going to",
    "i am not going to",
    "i'm not willing to",
    "i am not willing to",
    "i'm not comfortable",
    "i am not comfortable",
    "i don't feel comfortable",
    "i do not feel comfortable",
    "i'm not allowed to",
    "i am not allowed to",
    "i'd rather not",
    "i would rather not",
    "i'd prefer not to",
    "i would prefer not to",
    "i refuse",
    "i must decline",
    "i have to decline",
    "i don't think i should",
    "i do not think i should",
    "i don't think i can",
    "i do not think i can",
    "i shouldn't",
    "i should not",
    "not something i can",
    "as an ai",
    "as a language model",
    "i'm an ai",
    "i am an ai",
    "i'm just an ai",
    "i am just an ai",
];

const DISCLAIMER_PHRASES: &[&str] = &[
    "please consult",
    "consult a",
    "consult an",
    "consult with",
    "consult your",
    "seek professional",
    "seek help",
    "seek medical",
    "professional help",
    "medical professional",
    "mental health professional",
    "talk to a doctor",
    "see a doctor",
    "your doctor",
    "a lawyer",
    "an attorney",
    "legal advice",
    "medical advice",
    "i'm not a doctor",
    "i am not a doctor",
    "i'm not a lawyer",
    "i am not a lawyer",
    "illegal",
    "illegally",
    "unlawful",
    "against the law",
    "a crime",
    "dangerous",
    "unsafe",
    "harmful",
    "unethical",
    "immoral",
    "risky",
    "warn",
    "warning",
    "be careful",
    "be safe",
    "stay safe",
    "at your own risk",
    "not a good idea",
    "a bad idea",
    "i strongly advise",
    "i advise against",
    "i would advise",
    "i'd advise",
    "i don't recommend",
    "i do not recommend",
    "i wouldn't recommend",
    "i would not recommend",
    "i'd recommend against",
    "i would recommend against",
    "please don't",
    "please do not",
    "call 911",
    "emergency services",
    "emergency room",
    "hotline",
    "crisis line",
    "suicide prevention",
];

const HEDGING_PHRASES: &[&str] = &[
    "might",
    "perhaps",
    "possibly",
    "maybe",
    "probably",
    "likely",
    "unlikely",
    "i think",
    "i believe",
    "i guess",
    "i suppose",
    "i feel like",
    "not sure",
    "unsure",
    "not certain",
    "uncertain",
    "i don't know",
    "i do not know",
    "seem",
    "seems",
    "seemed",
    "appears to",
    "appear to",
    "somewhat",
    "it depends",
    "in my opinion",
    "i'd say",
    "i would say",
    "may be",
    "could be",
    "as far as i know",
    "it's possible",
    "it is possible",
];

const APOLOGY_PHRASES: &[&str] = &[
    "sorry",
    "apologize",
    "apologise",
    "apologizing",
    "apologising",
    "apologies",
    "forgive me",
    "my bad",
];

// URL starts: checked for a word boundary on the left only (the URL goes on after the match).
const LINK_PHRASES: &[&str] = &["http://", "https://", "www."];

/// Apostrophe variants folded together: ASCII, right and left single quotation marks (HH-RLHF
/// writes "I’m"), the modifier letter apostrophe, and none at all ("im", "dont" in informal text).
const APOSTROPHES: &[&str] = &["'", "\u{2019}", "\u{2018}", "\u{02BC}", ""];

/// Bullet markers that start a list line (followed by a space or a tab).
const BULLETS: &[char] = &['-', '*', '+', '•', '◦', '▪', '‣'];

struct PhraseMatcher {
    automaton: AhoCorasick,
    /// Category of each automaton pattern, indexed by `PatternID`.
    categories: Vec<Category>,
}

static MATCHER: LazyLock<PhraseMatcher> = LazyLock::new(build_matcher);

fn phrase_lists() -> [(Category, &'static [&'static str]); 5] {
    [
        (Category::Refusal, REFUSAL_PHRASES),
        (Category::Disclaimer, DISCLAIMER_PHRASES),
        (Category::Hedging, HEDGING_PHRASES),
        (Category::Apology, APOLOGY_PHRASES),
        (Category::Link, LINK_PHRASES),
    ]
}

/// Every spelling of `phrase` with its apostrophes replaced by one variant (all apostrophes of a
/// phrase take the same variant: mixed quotes inside one short phrase do not occur in practice).
fn expand_apostrophes(phrase: &str) -> Vec<String> {
    if !phrase.contains('\'') {
        return vec![phrase.to_owned()];
    }
    APOSTROPHES
        .iter()
        .map(|variant| phrase.replace('\'', variant))
        .collect()
}

fn build_matcher() -> PhraseMatcher {
    let mut patterns: Vec<String> = Vec::new();
    let mut categories = Vec::new();
    for (category, phrases) in phrase_lists() {
        for phrase in phrases {
            for spelling in expand_apostrophes(phrase) {
                // Dropping the apostrophe can collide with another phrase of the same list; a
                // duplicate pattern would only cost automaton size, but keep the table clean.
                if !patterns.contains(&spelling) {
                    patterns.push(spelling);
                    categories.push(category);
                }
            }
        }
    }
    // The patterns are the constant lists above, so a build failure is a programming error (it can
    // only happen past the automaton's state limit, orders of magnitude away); the unit test
    // `matcher_builds` exercises this on every test run. A DFA is chosen because the automaton is
    // small (a few thousand states) and search speed matters more than memory.
    let automaton = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .kind(Some(AhoCorasickKind::DFA))
        .build(&patterns)
        .expect("text-v1 phrase automaton is built from constant patterns");
    PhraseMatcher {
        automaton,
        categories,
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
    let code_ranges = scan_lines(response, &mut counts);
    counts[QUESTIONS] = count_questions(response, &code_ranges);
    scan_phrases(response, &code_ranges, &mut counts);
    counts[LINKS] += count_citations(response, &code_ranges);
    // `usize as f64` is exact below 2^53, far beyond any text that fits in memory.
    counts.map(|n| (n as f64).ln_1p())
}

/// The line pass: list items, headings and fenced code blocks. Returns the byte ranges of fenced
/// code blocks (fence lines included), sorted and disjoint, so later passes can skip code.
fn scan_lines(text: &str, counts: &mut [usize; FEATURE_COUNT]) -> Vec<(usize, usize)> {
    let mut code_ranges = Vec::new();
    // (fence character, fence length, byte offset where the block starts)
    let mut open_fence: Option<(u8, usize, usize)> = None;
    let mut offset = 0;
    for raw_line in text.split('\n') {
        let line_start = offset;
        offset += raw_line.len() + 1;
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        let content = line.trim_start_matches([' ', '\t']);
        let fence = fence_of(content);
        if let Some((fence_char, fence_len, block_start)) = open_fence {
            if fence.is_some_and(|(c, n)| c == fence_char && n >= fence_len) {
                code_ranges.push((block_start, (offset - 1).min(text.len())));
                open_fence = None;
            }
            continue;
        }
        if let Some((c, n)) = fence {
            counts[CODE_BLOCKS] += 1;
            open_fence = Some((c, n, line_start));
            continue;
        }
        if is_heading(content) {
            counts[HEADINGS] += 1;
        } else if is_list_item(content) {
            counts[LIST_ITEMS] += 1;
        }
    }
    if let Some((_, _, block_start)) = open_fence {
        // An unclosed fence runs to the end of the text (as in CommonMark).
        code_ranges.push((block_start, text.len()));
    }
    code_ranges
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

/// A fence line starts with at least three backticks or three tildes; returns (char, run length).
fn fence_of(content: &str) -> Option<(u8, usize)> {
    let first = *content.as_bytes().first()?;
    if first != b'`' && first != b'~' {
        return None;
    }
    let run = content.bytes().take_while(|&b| b == first).count();
    (run >= 3).then_some((first, run))
}

/// ATX heading: one to six `#` followed by a space, a tab or the end of the line.
fn is_heading(content: &str) -> bool {
    let hashes = content.bytes().take_while(|&b| b == b'#').count();
    (1..=6).contains(&hashes)
        && content
            .as_bytes()
            .get(hashes)
            .is_none_or(|&b| b == b' ' || b == b'\t')
}

/// A bulleted line (`BULLETS` + space/tab) or a numbered one (1–3 digits, `.` or `)`, space/tab),
/// with some text after the marker. Thematic breaks such as `* * *` or `- - -` are not list items.
fn is_list_item(content: &str) -> bool {
    let mut chars = content.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let rest = if BULLETS.contains(&first) {
        chars.as_str()
    } else if first.is_ascii_digit() {
        let digits = content.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 3 {
            return false;
        }
        match content
            .get(digits..)
            .and_then(|r| r.strip_prefix(['.', ')']))
        {
            Some(rest) => rest,
            None => return false,
        }
    } else {
        return false;
    };
    let Some(text) = rest.strip_prefix([' ', '\t']) else {
        return false;
    };
    let is_break =
        BULLETS.contains(&first) && text.chars().all(|c| c == first || c == ' ' || c == '\t');
    !is_break && !text.trim().is_empty()
}

/// Characters after which a run of `?` ends a sentence: anything else (a letter, a digit, `=`, `/`,
/// `&`) means the `?` is inside a token such as a URL query string.
fn closes_sentence(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '"' | '\'' | ')' | ']' | '}' | '*' | '_' | '\u{2019}' | '\u{201D}' | '\u{00BB}'
        )
}

/// Questions outside fenced code: maximal runs of `?`/`!` that contain a `?` and are followed by
/// the end of the text, whitespace (a line end included) or closing punctuation.
fn count_questions(text: &str, code_ranges: &[(usize, usize)]) -> usize {
    let bytes = text.as_bytes();
    let is_mark = |b: &u8| *b == b'?' || *b == b'!';
    let mut questions = 0;
    // Every '?' of a run is visited; the run is judged once, at its first '?'.
    let mut run_end = 0;
    for position in memchr::memchr_iter(b'?', bytes) {
        if position < run_end || in_code(code_ranges, position) {
            continue;
        }
        let tail = bytes.get(position..).unwrap_or_default();
        run_end = position + tail.iter().take_while(|b| is_mark(b)).count();
        let next = text.get(run_end..).and_then(|rest| rest.chars().next());
        if next.is_none_or(closes_sentence) {
            questions += 1;
        }
    }
    questions
}

/// Citation markers outside fenced code: `[` + optional `^` + 1–3 ASCII digits + `]`.
fn count_citations(text: &str, code_ranges: &[(usize, usize)]) -> usize {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'[', bytes)
        .filter(|&position| {
            let after = bytes.get(position + 1..).unwrap_or_default();
            let after = after.strip_prefix(b"^").unwrap_or(after);
            let digits = after
                .iter()
                .take(4)
                .take_while(|b| b.is_ascii_digit())
                .count();
            (1..=3).contains(&digits)
                && after.get(digits) == Some(&b']')
                && !in_code(code_ranges, position)
        })
        .count()
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// True when the match `start..end` is not glued to a word character on the left and, for word
/// phrases, on the right. Offsets come from the automaton, so slicing uses `get` and treats an
/// impossible non-boundary offset as "not a word".
fn is_word_boundary(text: &str, start: usize, end: usize, check_right: bool) -> bool {
    let left_ok = text
        .get(..start)
        .and_then(|before| before.chars().next_back())
        .is_none_or(|c| !is_word_char(c));
    let right_ok = !check_right
        || text
            .get(end..)
            .and_then(|after| after.chars().next())
            .is_none_or(|c| !is_word_char(c));
    left_ok && right_ok
}

/// End of the whitespace-delimited token starting at `start` (a URL counts once, whichever of
/// `https://` and `www.` inside it matched).
fn token_end(text: &str, start: usize) -> usize {
    text.get(start..)
        .and_then(|rest| rest.find(char::is_whitespace))
        .map_or(text.len(), |n| start + n)
}

fn in_code(code_ranges: &[(usize, usize)], position: usize) -> bool {
    // Ranges are sorted and disjoint: find the last range starting at or before `position`.
    let index = code_ranges.partition_point(|&(start, _)| start <= position);
    index > 0
        && code_ranges
            .get(index - 1)
            .is_some_and(|&(_, end)| position < end)
}

/// The phrase pass. Overlapping search reports every whole-word match in order of its end offset;
/// within one category, matches that overlap (directly or through a chain: "please consult" /
/// "consult your" / "your doctor") are one occurrence, so a count is the number of maximal clusters
/// of overlapping matches. Different categories count independently ("i'm sorry, i can't" is one
/// apology and one refusal).
fn scan_phrases(text: &str, code_ranges: &[(usize, usize)], counts: &mut [usize; FEATURE_COUNT]) {
    let matcher = &*MATCHER;
    // End of the current cluster per category. Because matches arrive by increasing end, a match
    // overlaps the current cluster exactly when it starts before the cluster's end.
    let mut cluster_end = [0usize; Category::ALL.len()];
    for found in matcher.automaton.find_overlapping_iter(text) {
        let Some(&category) = matcher.categories.get(found.pattern().as_usize()) else {
            continue;
        };
        let (start, end) = (found.start(), found.end());
        let is_link = category == Category::Link;
        if in_code(code_ranges, start) || !is_word_boundary(text, start, end, !is_link) {
            continue;
        }
        // A URL occupies its whole whitespace-delimited token.
        let occupied_end = if is_link { token_end(text, start) } else { end };
        let Some(current_end) = cluster_end.get_mut(category.slot()) else {
            continue;
        };
        if start >= *current_end {
            counts[category.feature()] += 1;
        }
        *current_end = (*current_end).max(occupied_end);
    }
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
        let doc = include_str!("../../docs/features.md");
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
