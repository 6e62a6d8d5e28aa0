//! Policy source text: a YAML document loaded into a tree of nodes that all know their line and
//! column.
//!
//! This module owns the one place where the YAML library is called (`serde-saphyr`, deserializing
//! into `Spanned` nodes). The tree keeps duplicate keys and every scalar's type as YAML resolved it,
//! so `spec` can report *all* shape problems (duplicate keys, unknown keys, wrong types) in one
//! pass instead of stopping at the first one, as a derived `Deserialize` would. Entry point:
//! `load`. It knows nothing about policies; it must not interpret keys.

use std::fmt;

use serde::Serialize;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{DuplicateKeyPolicy, NonFiniteFloatPolicy, Spanned};

/// A 1-based line and column (in characters) in the policy file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Loc {
    pub line: usize,
    pub column: usize,
}

impl Loc {
    pub const fn new(line: usize, column: usize) -> Self {
        Self { line, column }
    }
}

/// A value together with the place in the policy file it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub loc: Loc,
}

impl<T> Located<T> {
    pub const fn new(value: T, loc: Loc) -> Self {
        Self { value, loc }
    }
}

/// One YAML node with its location.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub kind: NodeKind,
    pub loc: Loc,
}

/// A YAML node as resolved by the YAML 1.2 core schema (with strict booleans, so `n`, `yes` and
/// `on` stay strings: `metric: n` must not become `false`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeKind {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in document order, duplicates kept.
    Map(Vec<(Node, Node)>),
}

impl NodeKind {
    /// A short noun for "expected a number, found {}" messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            NodeKind::Null => "nothing (null)",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) => "an integer",
            NodeKind::Float(_) => "a number",
            NodeKind::Str(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }
}

/// Why a text could not be loaded as one YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub message: String,
    pub loc: Loc,
}

/// Loads `text` as a single YAML document.
pub(crate) fn load(text: &str) -> Result<Node, SyntaxError> {
    let options = serde_saphyr::options! {
        // Duplicates are reported by `spec` together with every other problem.
        duplicate_keys: DuplicateKeyPolicy::PassThrough,
        // `.nan`/`.inf` become a located `non-finite-number` diagnostic instead of a syntax error.
        non_finite_float_policy: NonFiniteFloatPolicy::PassThrough,
        strict_booleans: true,
        // A policy is plain YAML: application tags (`!custom`) mean nothing to the tool and
        // would otherwise be dropped silently.
        reject_unsupported_tags: true,
        with_snippet: false,
    };
    // The default budget stays on: it caps nesting depth (64) and node counts, which also bounds
    // the recursion in this module.
    match serde_saphyr::from_str_with_options::<Node>(text, options) {
        Ok(node) => Ok(node),
        Err(err) => {
            let loc = err
                .location()
                .map(|l| Loc::new(to_usize(l.line()), to_usize(l.column())))
                .unwrap_or(Loc::new(1, 1));
            let message = strip_location_suffix(&err.to_string(), loc);
            // serde-saphyr's wording names its own API; say what to change in the file instead.
            let message = if message.starts_with("multiple YAML documents") {
                "the file holds more than one YAML document; a policy is one document (remove the `---` separator)".to_owned()
            } else if message.contains("budget breached") {
                // serde-saphyr names its internal limit type (`Nodes { nodes: 250001 }`).
                format!(
                    "the file is too large or too deeply nested to be a policy (a parser limit was reached: {}); a policy is a short mapping of rules",
                    budget_detail(&message)
                )
            } else {
                message
            };
            Err(SyntaxError { message, loc })
        }
    }
}

/// The limit serde-saphyr reports, in words: "nodes: 250001" from `budget breached: Nodes {
/// nodes: 250001 }`.
fn budget_detail(message: &str) -> String {
    let inner = message
        .split_once('{')
        .and_then(|(_, rest)| rest.split_once('}'))
        .map(|(inside, _)| inside.trim());
    match inner {
        Some(inside) if !inside.is_empty() => inside.replace('_', " "),
        _ => "size".to_owned(),
    }
}

fn to_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// serde-saphyr appends " at line L, column C" to plain messages; the diagnostic carries the
/// location separately, so the suffix would only repeat it.
fn strip_location_suffix(message: &str, loc: Loc) -> String {
    let suffix = format!(" at line {}, column {}", loc.line, loc.column);
    let trimmed = message.strip_suffix(&suffix).unwrap_or(message);
    let prefix = format!("line {} column {}: ", loc.line, loc.column);
    trimmed.strip_prefix(&prefix).unwrap_or(trimmed).to_owned()
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<NodeKind>::deserialize(deserializer)?;
        Ok(Node {
            kind: spanned.value,
            loc: Loc::new(
                to_usize(spanned.referenced.line()),
                to_usize(spanned.referenced.column()),
            ),
        })
    }
}

impl<'de> Deserialize<'de> for NodeKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = NodeKind;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_unit<E>(self) -> Result<NodeKind, E> {
        Ok(NodeKind::Null)
    }

    fn visit_none<E>(self) -> Result<NodeKind, E> {
        Ok(NodeKind::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeKind, D::Error> {
        NodeKind::deserialize(d)
    }

    fn visit_bool<E>(self, v: bool) -> Result<NodeKind, E> {
        Ok(NodeKind::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<NodeKind, E> {
        Ok(NodeKind::Int(i128::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<NodeKind, E> {
        Ok(NodeKind::Int(i128::from(v)))
    }

    fn visit_i128<E>(self, v: i128) -> Result<NodeKind, E> {
        Ok(NodeKind::Int(v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<NodeKind, E> {
        i128::try_from(v)
            .map(NodeKind::Int)
            .map_err(|_| E::custom("integer is too large"))
    }

    fn visit_f64<E>(self, v: f64) -> Result<NodeKind, E> {
        Ok(NodeKind::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<NodeKind, E> {
        Ok(NodeKind::Str(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<NodeKind, E> {
        Ok(NodeKind::Str(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<NodeKind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = access.next_element::<Node>()? {
            items.push(item);
        }
        Ok(NodeKind::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<NodeKind, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = access.next_key::<Node>()? {
            let value = access.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(NodeKind::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_duplicates_locations_and_strict_booleans() {
        let node = load("a: 1\nmetric: n\na: yes\n").unwrap();
        let NodeKind::Map(entries) = node.kind else {
            panic!("not a map")
        };
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[1].1.kind, NodeKind::Str("n".into()));
        assert_eq!(entries[1].1.loc, Loc::new(2, 9));
        assert_eq!(entries[2].1.kind, NodeKind::Str("yes".into()));
        assert_eq!(entries[2].0.loc, Loc::new(3, 1));
    }

    #[test]
    fn syntax_error_has_location_without_repeating_it() {
        let err = load("rules:\n  - op: >=\n").unwrap_err();
        assert_eq!(err.loc.line, 2);
        assert!(!err.message.contains("line 2"), "{}", err.message);
    }

    #[test]
    fn non_finite_floats_reach_the_tree() {
        let node = load("t: .nan\n").unwrap();
        let NodeKind::Map(entries) = node.kind else {
            panic!("not a map")
        };
        assert!(matches!(entries[0].1.kind, NodeKind::Float(v) if v.is_nan()));
    }
}
