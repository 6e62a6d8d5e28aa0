//! Text scanning shared by the built-in feature maps: the line pass (list items, headings, fenced
//! code), questions, citation markers, and one Aho–Corasick pass over the phrase lists of
//! `refusal`, `disclaimer`, `hedging`, `apology` and URL starts.
//!
//! Entry points: [`scan_lines`], [`count_questions`], [`count_citations`], [`scan_phrases`], and
//! the line predicates [`fence_of`], [`is_heading`], [`is_list_item`] with [`in_code`]. Each
//! returns raw counts; the maps decide the order and scaling of their features.
//!
//! This code was `text-v1`'s own and is shared as it was: `text-v1` is frozen (a test pins every
//! value it produces on the HH-RLHF file), so nothing here may change behaviour. A later map that
//! needs a different definition or phrase list gets its own code, never an edit of this one.
//! No I/O, no allocation per phrase, no locale.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// Phrase categories matched by the Aho–Corasick pass. `Link` covers URL starts; the bracketed
/// citation markers of the `links` feature are found in the line pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Category {
    Refusal,
    Disclaimer,
    Hedging,
    Apology,
    Link,
}

impl Category {
    pub(super) const ALL: [Category; 5] = [
        Category::Refusal,
        Category::Disclaimer,
        Category::Hedging,
        Category::Apology,
        Category::Link,
    ];

    pub(super) fn slot(self) -> usize {
        match self {
            Category::Refusal => 0,
            Category::Disclaimer => 1,
            Category::Hedging => 2,
            Category::Apology => 3,
            Category::Link => 4,
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

pub(super) struct PhraseMatcher {
    pub(super) automaton: AhoCorasick,
    /// Category of each automaton pattern, indexed by `PatternID`.
    pub(super) categories: Vec<Category>,
}

pub(super) static MATCHER: LazyLock<PhraseMatcher> = LazyLock::new(build_matcher);

pub(super) fn phrase_lists() -> [(Category, &'static [&'static str]); 5] {
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
pub(super) fn expand_apostrophes(phrase: &str) -> Vec<String> {
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
        .expect("the phrase automaton is built from constant patterns");
    PhraseMatcher {
        automaton,
        categories,
    }
}

/// What the line pass finds: counts of list items, headings and fenced code blocks, and the byte
/// ranges of fenced code blocks (fence lines included), sorted and disjoint, so later passes can
/// skip code.
pub(super) struct LineStructure {
    pub(super) list_items: usize,
    pub(super) headings: usize,
    pub(super) code_blocks: usize,
    pub(super) code_ranges: Vec<(usize, usize)>,
}

/// The line pass: list items, headings and fenced code blocks.
pub(super) fn scan_lines(text: &str) -> LineStructure {
    let mut found = LineStructure {
        list_items: 0,
        headings: 0,
        code_blocks: 0,
        code_ranges: Vec::new(),
    };
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
                found
                    .code_ranges
                    .push((block_start, (offset - 1).min(text.len())));
                open_fence = None;
            }
            continue;
        }
        if let Some((c, n)) = fence {
            found.code_blocks += 1;
            open_fence = Some((c, n, line_start));
            continue;
        }
        if is_heading(content) {
            found.headings += 1;
        } else if is_list_item(content) {
            found.list_items += 1;
        }
    }
    if let Some((_, _, block_start)) = open_fence {
        // An unclosed fence runs to the end of the text (as in CommonMark).
        found.code_ranges.push((block_start, text.len()));
    }
    found
}

/// A fence line starts with at least three backticks or three tildes; returns (char, run length).
pub(super) fn fence_of(content: &str) -> Option<(u8, usize)> {
    let first = *content.as_bytes().first()?;
    if first != b'`' && first != b'~' {
        return None;
    }
    let run = content.bytes().take_while(|&b| b == first).count();
    (run >= 3).then_some((first, run))
}

/// ATX heading: one to six `#` followed by a space, a tab or the end of the line.
pub(super) fn is_heading(content: &str) -> bool {
    let hashes = content.bytes().take_while(|&b| b == b'#').count();
    (1..=6).contains(&hashes)
        && content
            .as_bytes()
            .get(hashes)
            .is_none_or(|&b| b == b' ' || b == b'\t')
}

/// A bulleted line (`BULLETS` + space/tab) or a numbered one (1–3 digits, `.` or `)`, space/tab),
/// with some text after the marker. Thematic breaks such as `* * *` or `- - -` are not list items.
pub(super) fn is_list_item(content: &str) -> bool {
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
pub(super) fn count_questions(text: &str, code_ranges: &[(usize, usize)]) -> usize {
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
pub(super) fn count_citations(text: &str, code_ranges: &[(usize, usize)]) -> usize {
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

pub(super) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// True when the match `start..end` is not glued to a word character on the left and, for word
/// phrases, on the right. Offsets come from the automaton, so slicing uses `get` and treats an
/// impossible non-boundary offset as "not a word".
pub(super) fn is_word_boundary(text: &str, start: usize, end: usize, check_right: bool) -> bool {
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

pub(super) fn in_code(code_ranges: &[(usize, usize)], position: usize) -> bool {
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
/// apology and one refusal). Returns the count per [`Category::slot`].
pub(super) fn scan_phrases(
    text: &str,
    code_ranges: &[(usize, usize)],
) -> [usize; Category::ALL.len()] {
    let mut counts = [0usize; Category::ALL.len()];
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
        let slot = category.slot();
        let (Some(current_end), Some(count)) = (cluster_end.get_mut(slot), counts.get_mut(slot))
        else {
            continue;
        };
        if start >= *current_end {
            *count += 1;
        }
        *current_end = (*current_end).max(occupied_end);
    }
    counts
}
