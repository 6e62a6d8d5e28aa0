//! A record as parsed from one line, before validation against the schema and the registry.

use std::sync::Arc;

/// The label as written: validated later so that every problem of a line is reported together.
#[derive(Debug, Clone, PartialEq)]
pub enum RawLabel {
    One,
    Zero,
    Tie,
    Missing,
    Invalid(String),
}

impl RawLabel {
    /// Interprets a numeric label: 1 and 0 are preferences, 0.5 is a tie.
    pub fn from_number(v: f64) -> RawLabel {
        if v == 1.0 {
            RawLabel::One
        } else if v == 0.0 {
            RawLabel::Zero
        } else if v == 0.5 {
            RawLabel::Tie
        } else {
            RawLabel::Invalid(v.to_string())
        }
    }

    /// Interprets a label cell or string: `1`, `0`, `0.5`/`tie`.
    pub fn from_text(s: &str) -> RawLabel {
        let t = s.trim();
        if t.is_empty() {
            return RawLabel::Missing;
        }
        if t.eq_ignore_ascii_case("tie") {
            return RawLabel::Tie;
        }
        match t.parse::<f64>() {
            Ok(v) => RawLabel::from_number(v),
            Err(_) => RawLabel::Invalid(format!("'{t}'")),
        }
    }
}

/// Feature values as written: per side or Δφ, in the order of `names` (the input's order). The
/// names are shared between rows that have the same layout (every CSV row shares the header's).
#[derive(Debug, Clone, PartialEq)]
pub enum RawFeatures {
    Sides {
        names: Arc<[String]>,
        /// Where the two sides' features were written (`a.features`/`b.features`, or a text
        /// pair's `chosen_features`/`rejected_features`), for problems about them.
        fields: [&'static str; 2],
        a: Vec<f64>,
        b: Vec<f64>,
    },
    Delta {
        names: Arc<[String]>,
        values: Vec<f64>,
    },
    Missing,
    /// Present but malformed; the problem is already reported.
    Invalid,
}

/// One parsed record.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    pub id: Option<String>,
    pub bucket: Option<String>,
    pub group: Option<String>,
    pub prompt_id: Option<String>,
    pub label: RawLabel,
    pub labeler: Option<String>,
    pub a_intervention: Option<String>,
    pub b_intervention: Option<String>,
    pub features: RawFeatures,
    pub prompt: Option<String>,
    pub a_text: Option<String>,
    pub b_text: Option<String>,
}
