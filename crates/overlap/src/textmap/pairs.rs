//! Parsing of one text-pair line (an already-decoded JSON object) into a [`TextPair`].
//!
//! Entry point: [`parse_pair`]. It accepts the common public shapes of preference data:
//!
//! 1. `{"prompt", "chosen", "rejected"}`: side a = chosen, side b = rejected, label 1;
//! 2. `{"prompt", "response_a", "response_b", "label"}` with `label` 1 (a preferred) or 0;
//! 3. `{"chosen", "rejected"}` without `prompt`, as full Anthropic HH-RLHF dialogues
//!    (`"\n\nHuman: … \n\nAssistant: …"`): the response is the last Assistant turn, the prompt the
//!    dialogue before it (see [`split_dialogue`]);
//! 4. sides as message lists `[{"role", "content"}, …]` (either key pair): the response is the
//!    final assistant message, the messages before it are prompt context (rendered as
//!    `"Human: …\n\nAssistant: …"`, see `render_messages`);
//!    a top-level `prompt` may be a string or a message list;
//! 5. Together AI (`input.messages`, `preferred_output`, `non_preferred_output`) and
//!    LLaMA-Factory ShareGPT ranking (`conversations`, `chosen`/`rejected` as `{from, value}`),
//!    read as 4 under their own key names (issues name the line's keys);
//! 6. rated pairs: chosen/rejected with `chosen_rating`/`rejected_rating` (or `score_chosen`/
//!    `score_rejected`): the higher rating is preferred and equal ratings are a tie.
//!
//! (Lists of candidate strings, RM-Bench style, are expanded into single pairs by the importer
//! before they reach this module.)
//!
//! With a `prompt` present, string sides are the responses verbatim: they are not split as
//! dialogues and a repeated prompt prefix is not stripped. Only dialogue turns are trimmed.
//!
//! Optional keys: `id` (string or integer), the bucket and group keys named by [`PairOptions`],
//! per-side numeric features (`chosen_features`/`rejected_features`, `a_features`/`b_features`; see
//! [`UserFeatures`]),
//! `a_intervention`, `b_intervention`; `null` means absent. Unknown keys are ignored.
//!
//! Every problem of the line is collected (a `Vec<FieldIssue>`, in a fixed field order), never only
//! the first. This module must not decode raw text, do I/O or compute features: the importer owns
//! line numbers and positions, and the feature maps ([`crate::textmap::FeatureMap`]) own features.

use serde_json::{Map, Value};

/// Separator that opens an assistant turn in HH-RLHF dialogues.
const ASSISTANT_TURN: &str = "\n\nAssistant:";
/// Separator that opens a human turn in HH-RLHF dialogues.
const HUMAN_TURN: &str = "\n\nHuman:";

/// One preference comparison between two responses to the same prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct TextPair {
    pub id: Option<String>,
    pub bucket: Option<String>,
    pub group: Option<String>,
    /// The prompt (or the dialogue before the compared turn), as text.
    pub prompt: String,
    pub response_a: String,
    pub response_b: String,
    /// 1 = side a preferred, 0 = side b preferred; `None` when the two responses' ratings tie
    /// (the importer treats that like a label tie).
    pub label: Option<u8>,
    pub a_intervention: Option<String>,
    pub b_intervention: Option<String>,
    /// The pair's own per-side features (`chosen_features`/`rejected_features` or
    /// `a_features`/`b_features`): names in side a's key order, values of side a and side b in
    /// that order. Empty when the line carries none.
    pub user_features: UserFeatures,
    /// Both sides were message lists (TRL conversational, Together AI, ShareGPT), not strings.
    pub conversational: bool,
}

/// Per-side numeric features a line carries next to its texts, validated: both sides have the
/// same names and every value is a finite number.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserFeatures {
    /// The JSON keys of the two sides (`chosen_features`, `rejected_features` or `a_features`,
    /// `b_features`), for messages about this line.
    pub keys: [&'static str; 2],
    pub names: Vec<String>,
    pub a: Vec<f64>,
    pub b: Vec<f64>,
}

/// Which keys of a line carry the risk bucket and the group (`None`: the line has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairOptions {
    pub bucket_field: Option<String>,
    pub group_field: Option<String>,
}

impl Default for PairOptions {
    fn default() -> Self {
        Self {
            bucket_field: Some("bucket".to_owned()),
            group_field: Some("group".to_owned()),
        }
    }
}

/// One problem with one field of a text-pair line. `field` is the JSON key, with a path into
/// message lists (`chosen[2].role`); `message` is lowercase and says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldIssue {
    pub field: String,
    pub message: String,
}

#[derive(Default)]
struct Issues(Vec<FieldIssue>);

impl Issues {
    fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldIssue {
            field: field.to_owned(),
            message: message.into(),
        });
    }
}

/// One side as read from the line: the compared response and, when the side carried its own
/// context (an HH dialogue prefix or messages before the final one), that context as text.
struct Side {
    context: Option<String>,
    response: String,
}

/// Parses one text-pair object. Returns every issue of the line when it cannot be used.
///
/// When the two sides carry different contexts (HH dialogues whose prefixes differ, as happens in
/// a handful of HH-RLHF lines where a response itself contains an extra `Assistant:` turn), the
/// prompt is side a's context (chosen's in the chosen/rejected shape); this is not an error.
pub fn parse_pair(
    object: &Map<String, Value>,
    options: &PairOptions,
) -> Result<TextPair, Vec<FieldIssue>> {
    match standard_form(object) {
        None => parse_standard(object, options),
        Some((standard, names)) => parse_standard(&standard, options).map_err(|issues| {
            issues
                .into_iter()
                .map(|i| FieldIssue {
                    field: names.original(&i.field),
                    message: i.message,
                })
                .collect()
        }),
    }
}

/// How a layout's keys were renamed into the standard form, to report issues under the
/// keys the line really has.
struct Renamed {
    /// (standard prefix, original prefix), longest first.
    prefixes: &'static [(&'static str, &'static str)],
    /// ShareGPT messages say `from`/`value` where the standard form says `role`/`content`.
    sharegpt: bool,
}

impl Renamed {
    fn original(&self, field: &str) -> String {
        let mut out = field.to_string();
        for (standard, original) in self.prefixes {
            if let Some(rest) = field.strip_prefix(standard) {
                out = format!("{original}{rest}");
                break;
            }
        }
        if self.sharegpt {
            out = out.replace(".role", ".from").replace(".content", ".value");
        }
        out
    }
}

/// Layouts that are the standard ones under other names, rewritten into the standard form:
/// Together AI (`input.messages`, `preferred_output`, `non_preferred_output`) and LLaMA-Factory's
/// ShareGPT ranking (`conversations` and `chosen`/`rejected` as `{from, value}`). `None` when the
/// line is in neither.
fn standard_form(object: &Map<String, Value>) -> Option<(Map<String, Value>, Renamed)> {
    if object.contains_key("preferred_output") || object.contains_key("non_preferred_output") {
        let mut out = object.clone();
        let input = out.remove("input");
        let prompt = match input {
            Some(Value::Object(mut input)) => input.remove("messages").unwrap_or(Value::Null),
            Some(other) => other,
            None => Value::Null,
        };
        if !prompt.is_null() {
            out.insert("prompt".into(), prompt);
        }
        for (from, to) in [
            ("preferred_output", "chosen"),
            ("non_preferred_output", "rejected"),
        ] {
            if let Some(v) = out.remove(from) {
                out.insert(to.into(), v);
            }
        }
        return Some((
            out,
            Renamed {
                prefixes: &[
                    ("prompt", "input.messages"),
                    ("chosen", "preferred_output"),
                    ("rejected", "non_preferred_output"),
                ],
                sharegpt: false,
            },
        ));
    }
    let sharegpt_side = |k: &str| {
        object
            .get(k)
            .and_then(Value::as_object)
            .is_some_and(|o| o.contains_key("value"))
    };
    if object.get("conversations").is_some_and(Value::is_array)
        && (sharegpt_side("chosen") || sharegpt_side("rejected"))
    {
        let mut out = object.clone();
        if let Some(Value::Array(turns)) = out.remove("conversations") {
            out.insert(
                "prompt".into(),
                Value::Array(turns.into_iter().map(sharegpt_message).collect()),
            );
        }
        for key in ["chosen", "rejected"] {
            if let Some(v) = out.remove(key) {
                out.insert(key.into(), Value::Array(vec![sharegpt_message(v)]));
            }
        }
        return Some((
            out,
            Renamed {
                prefixes: &[
                    ("prompt", "conversations"),
                    ("chosen[0]", "chosen"),
                    ("rejected[0]", "rejected"),
                ],
                sharegpt: true,
            },
        ));
    }
    None
}

/// `{from, value}` as `{role, content}` (`human` → user, `gpt` → assistant); anything else is
/// left for the message-list checks to report.
fn sharegpt_message(message: Value) -> Value {
    let Value::Object(mut m) = message else {
        return message;
    };
    let mut out = Map::new();
    if let Some(from) = m.remove("from") {
        let role = match from.as_str() {
            Some("human") => Value::String("user".into()),
            Some("gpt") => Value::String("assistant".into()),
            _ => from,
        };
        out.insert("role".into(), role);
    }
    if let Some(value) = m.remove("value") {
        out.insert("content".into(), value);
    }
    out.extend(m);
    Value::Object(out)
}

/// Parses a line in one of the standard layouts (the module documentation's 1–4).
fn parse_standard(
    object: &Map<String, Value>,
    options: &PairOptions,
) -> Result<TextPair, Vec<FieldIssue>> {
    let mut issues = Issues::default();

    let id = optional_id(object, "id", &mut issues);
    let bucket = options
        .bucket_field
        .as_deref()
        .and_then(|field| optional_text(object, field, &mut issues));
    let group = options
        .group_field
        .as_deref()
        .and_then(|field| optional_text(object, field, &mut issues));
    let prompt = top_level_prompt(object, &mut issues);

    let has_chosen = ["chosen", "rejected"].iter().any(|k| present(object, k));
    let has_ab = ["response_a", "response_b"]
        .iter()
        .any(|k| present(object, k));
    let (key_a, key_b, label) = match (has_chosen, has_ab) {
        (true, true) => {
            issues.push(
                "chosen",
                "both chosen/rejected and response_a/response_b are present: expected one pair of response fields",
            );
            (None, None, None)
        }
        (true, false) => {
            let label = chosen_label(object, &mut issues);
            (Some("chosen"), Some("rejected"), label)
        }
        (false, true) => {
            let label = ab_label(object, &mut issues).map(Some);
            (Some("response_a"), Some("response_b"), label)
        }
        (false, false) => {
            issues.push(
                "chosen",
                "missing field: expected `chosen` and `rejected`, or `response_a`, `response_b` and `label`",
            );
            (None, None, None)
        }
    };
    // A prompt of the wrong type is already an issue; the sides are still read as responses so
    // that their own problems are reported in terms of that shape.
    let has_prompt = present(object, "prompt");
    let conversational = [key_a, key_b]
        .iter()
        .all(|k| k.is_some_and(|k| object.get(k).is_some_and(Value::is_array)));
    let side_a = key_a.and_then(|key| side(object, key, has_prompt, &mut issues));
    let side_b = key_b.and_then(|key| side(object, key, has_prompt, &mut issues));

    let a_intervention = optional_text(object, "a_intervention", &mut issues);
    let b_intervention = optional_text(object, "b_intervention", &mut issues);
    let user_features = match (has_chosen, has_ab) {
        (true, false) => user_features(object, CHOSEN_FEATURE_KEYS, AB_FEATURE_KEYS, &mut issues),
        (false, true) => user_features(object, AB_FEATURE_KEYS, CHOSEN_FEATURE_KEYS, &mut issues),
        _ => UserFeatures::default(),
    };

    match (side_a, side_b, label) {
        (Some(a), Some(b), Some(label)) if issues.0.is_empty() => {
            let context = a.context.or(b.context);
            let prompt = join_nonempty(prompt.as_deref(), context.as_deref());
            Ok(TextPair {
                id,
                bucket,
                group,
                prompt,
                response_a: a.response,
                response_b: b.response,
                label,
                a_intervention,
                b_intervention,
                user_features,
                conversational,
            })
        }
        _ => Err(issues.0),
    }
}

/// Keys of the per-side features of the chosen/rejected and the response_a/response_b layouts.
const CHOSEN_FEATURE_KEYS: [&str; 2] = ["chosen_features", "rejected_features"];
const AB_FEATURE_KEYS: [&str; 2] = ["a_features", "b_features"];

/// Reads the line's own features under `keys`; the keys of the other layout are an error (they
/// would otherwise be silently ignored).
fn user_features(
    object: &Map<String, Value>,
    keys: [&'static str; 2],
    other_layout: [&'static str; 2],
    issues: &mut Issues,
) -> UserFeatures {
    for key in other_layout {
        if present(object, key) {
            issues.push(
                key,
                format!(
                    "this line's responses are not the layout {key} belongs to: expected {} and {}",
                    keys[0], keys[1]
                ),
            );
        }
    }
    let [key_a, key_b] = keys;
    let side_a = feature_object(object, key_a, issues);
    let side_b = feature_object(object, key_b, issues);
    let mut out = UserFeatures {
        keys,
        ..UserFeatures::default()
    };
    match (side_a, side_b) {
        (None, None) => {}
        (Some(_), None) if !present(object, key_b) => issues.push(
            key_b,
            format!("missing field: {key_a} is given, expected {key_b} with the same features"),
        ),
        (None, Some(_)) if !present(object, key_a) => issues.push(
            key_a,
            format!("missing field: {key_b} is given, expected {key_a} with the same features"),
        ),
        (Some(a), Some(b)) => {
            let only_a: Vec<&str> = a
                .iter()
                .filter(|(n, _)| !b.iter().any(|(m, _)| m == n))
                .map(|(n, _)| n.as_str())
                .collect();
            let only_b: Vec<&str> = b
                .iter()
                .filter(|(m, _)| !a.iter().any(|(n, _)| n == m))
                .map(|(m, _)| m.as_str())
                .collect();
            if only_a.is_empty() && only_b.is_empty() {
                for (name, value) in &a {
                    if let Some((_, other)) = b.iter().find(|(m, _)| m == name) {
                        out.names.push(name.clone());
                        out.a.push(*value);
                        out.b.push(*other);
                    }
                }
            } else {
                issues.push(
                    key_b,
                    format!(
                        "both sides must have the same features (only in {key_a}: [{}]; only in {key_b}: [{}])",
                        only_a.join(", "),
                        only_b.join(", ")
                    ),
                );
            }
        }
        // One side is malformed (already an issue) and the other is absent or malformed too.
        _ => {}
    }
    out
}

/// One side's features: an object of finite numbers, in key order. `None` when absent or
/// malformed (every bad value is an issue of its own, `key.name`).
fn feature_object(
    object: &Map<String, Value>,
    key: &str,
    issues: &mut Issues,
) -> Option<Vec<(String, f64)>> {
    let value = object.get(key).filter(|v| !v.is_null())?;
    let Value::Object(fields) = value else {
        issues.push(
            key,
            format!(
                "expected an object of feature values {{\"name\": number}}, found {}",
                type_name(value)
            ),
        );
        return None;
    };
    let mut out = Vec::with_capacity(fields.len());
    let mut ok = true;
    for (name, x) in fields {
        match x.as_f64().filter(|x| x.is_finite()) {
            Some(x) => out.push((name.clone(), x)),
            None => {
                issues.push(
                    &format!("{key}.{name}"),
                    format!("expected a finite number, found {}", type_name(x)),
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// `null` counts as absent for every key.
fn present(object: &Map<String, Value>, key: &str) -> bool {
    object.get(key).is_some_and(|v| !v.is_null())
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn optional_text(object: &Map<String, Value>, key: &str, issues: &mut Issues) -> Option<String> {
    match object.get(key)? {
        Value::Null => None,
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::String(_) => {
            issues.push(key, "empty string: expected a non-empty string or null");
            None
        }
        other => {
            issues.push(
                key,
                format!("expected a string or null, found {}", type_name(other)),
            );
            None
        }
    }
}

/// Ids are often integers in public datasets; they are kept as their decimal text.
fn optional_id(object: &Map<String, Value>, key: &str, issues: &mut Issues) -> Option<String> {
    match object.get(key)? {
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Value::Number(n) => {
            issues.push(
                key,
                format!("expected a string or an integer, found the number {n}"),
            );
            None
        }
        _ => optional_text(object, key, issues),
    }
}

/// The top-level `prompt`: a string verbatim, or a message list rendered by [`render_messages`].
fn top_level_prompt(object: &Map<String, Value>, issues: &mut Issues) -> Option<String> {
    match object.get("prompt")? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let messages = messages(items, "prompt", issues)?;
            Some(render_messages(&messages))
        }
        other => {
            issues.push(
                "prompt",
                format!(
                    "expected a string or a list of {{role, content}} messages, found {}",
                    type_name(other)
                ),
            );
            None
        }
    }
}

/// Reads a label that must be exactly 0 or 1 (`1.0` is accepted; ties and soft labels are not).
fn label_value(value: &Value, key: &str, issues: &mut Issues) -> Option<u8> {
    let Value::Number(n) = value else {
        issues.push(
            key,
            format!(
                "expected the number 1 (side a preferred) or 0 (side b preferred), found {}",
                type_name(value)
            ),
        );
        return None;
    };
    match n.as_f64() {
        Some(1.0) => Some(1),
        Some(0.0) => Some(0),
        Some(x) if x > 0.0 && x < 1.0 => {
            issues.push(
                key,
                format!("label {n} is a tie or a soft label: expected 0 or 1 (ties are not btl data; drop them before import)"),
            );
            None
        }
        _ => {
            issues.push(
                key,
                format!("expected 1 (side a preferred) or 0 (side b preferred), found {n}"),
            );
            None
        }
    }
}

fn ab_label(object: &Map<String, Value>, issues: &mut Issues) -> Option<u8> {
    match object.get("label") {
        None | Some(Value::Null) => {
            issues.push(
                "label",
                "missing field: expected 1 (response_a preferred) or 0 (response_b preferred)",
            );
            None
        }
        Some(value) => label_value(value, "label", issues),
    }
}

/// The rating keys of rated pairs (distilabel / UltraFeedback style), chosen's first.
const RATING_KEYS: [[&str; 2]; 2] = [
    ["chosen_rating", "rejected_rating"],
    ["score_chosen", "score_rejected"],
];

/// With ratings the preference is theirs: the higher-rated side is preferred and equal ratings
/// are a tie (`Some(None)`); `None` after an issue.
fn rated_label(object: &Map<String, Value>, issues: &mut Issues) -> Option<Option<Option<u8>>> {
    let [chosen_key, rejected_key] = RATING_KEYS
        .into_iter()
        .find(|keys| keys.iter().any(|k| present(object, k)))?;
    let rating = |key: &str, issues: &mut Issues| match object.get(key) {
        Some(Value::Number(n)) => n.as_f64().filter(|x| x.is_finite()),
        other => {
            let found = other.map_or("nothing", type_name);
            issues.push(
                key,
                format!("expected a number (the rating), found {found}"),
            );
            None
        }
    };
    let (chosen, rejected) = (rating(chosen_key, issues), rating(rejected_key, issues));
    let (Some(chosen), Some(rejected)) = (chosen, rejected) else {
        return Some(None);
    };
    Some(Some(if chosen > rejected {
        Some(1)
    } else if chosen < rejected {
        Some(0)
    } else {
        None
    }))
}

/// With chosen/rejected the label is implied (side a = chosen) or given by the two ratings; an
/// explicit label must agree. `Some(None)` is a tie by rating.
fn chosen_label(object: &Map<String, Value>, issues: &mut Issues) -> Option<Option<u8>> {
    if let Some(rated) = rated_label(object, issues) {
        if present(object, "label") {
            issues.push(
                "label",
                "give a label or ratings, not both: the ratings decide which side is preferred",
            );
            return None;
        }
        return rated;
    }
    match object.get("label") {
        None | Some(Value::Null) => Some(Some(1)),
        Some(value) => match label_value(value, "label", issues) {
            Some(1) => Some(Some(1)),
            Some(_) => {
                issues.push(
                    "label",
                    "expected 1 or no label with chosen/rejected (side a is the chosen response)",
                );
                None
            }
            None => None,
        },
    }
}

/// Reads one side. Strings are the response verbatim when the line has a prompt, otherwise an HH
/// dialogue to split; lists are message lists.
fn side(
    object: &Map<String, Value>,
    key: &str,
    has_prompt: bool,
    issues: &mut Issues,
) -> Option<Side> {
    let value = match object.get(key) {
        None | Some(Value::Null) => {
            issues.push(
                key,
                "missing field: expected a string or a list of {role, content} messages",
            );
            return None;
        }
        Some(value) => value,
    };
    match value {
        // An empty response is data (the model said nothing), not an input error: its features are
        // those of the empty text.
        Value::String(text) if has_prompt => Some(Side {
            context: None,
            response: text.clone(),
        }),
        Value::String(text) => match split_dialogue(text) {
            Ok((context, response)) => Some(Side {
                context: Some(context.to_owned()),
                response: response.to_owned(),
            }),
            Err(message) => {
                issues.push(key, message);
                None
            }
        },
        Value::Array(items) => {
            let messages = messages(items, key, issues)?;
            let Some((last, before)) = messages.split_last() else {
                issues.push(
                    key,
                    "empty message list: expected messages ending with an assistant message",
                );
                return None;
            };
            if last.role != "assistant" {
                let message = if before.iter().any(|m| m.role == "assistant") {
                    format!(
                        "expected the last message to have role \"assistant\", found \"{}\"",
                        last.role
                    )
                } else {
                    "no assistant message found: expected the list to end with a message of role \"assistant\"".to_owned()
                };
                issues.push(key, message);
                return None;
            }
            Some(Side {
                context: (!before.is_empty()).then(|| render_messages(before)),
                response: last.content.to_owned(),
            })
        }
        other => {
            issues.push(
                key,
                format!(
                    "expected a string or a list of {{role, content}} messages, found {}",
                    type_name(other)
                ),
            );
            None
        }
    }
}

/// Splits an HH-RLHF dialogue at its last `"\n\nAssistant:"` turn: returns (prompt, response),
/// the prompt being the dialogue before that turn and the response the turn's text, both with
/// surrounding whitespace trimmed (the dialogue's leading `"\n\n"` and the space after
/// `Assistant:` are separators, not content).
///
/// Errors (as the issue message): no assistant turn, and a dialogue whose last turn is a human one.
/// An empty final assistant turn is a valid, empty response (four lines of HH-RLHF harmless-base
/// test have one).
pub fn split_dialogue(dialogue: &str) -> Result<(&str, &str), String> {
    let Some(turn) = dialogue.rfind(ASSISTANT_TURN) else {
        return Err(
            "no assistant turn found: expected a `prompt` field, or a dialogue whose last turn starts with \"\\n\\nAssistant:\""
                .to_owned(),
        );
    };
    let before = dialogue.get(..turn).unwrap_or_default();
    let after = dialogue
        .get(turn + ASSISTANT_TURN.len()..)
        .unwrap_or_default();
    if after.contains(HUMAN_TURN) {
        return Err(
            "dialogue ends with a human turn: expected the last turn to start with \"\\n\\nAssistant:\""
                .to_owned(),
        );
    }
    Ok((before.trim(), after.trim()))
}

/// A validated chat message, borrowing from the decoded JSON.
struct Message<'a> {
    role: &'a str,
    content: &'a str,
}

/// Validates a message list; every malformed message is reported with its path.
fn messages<'a>(items: &'a [Value], key: &str, issues: &mut Issues) -> Option<Vec<Message<'a>>> {
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let Value::Object(fields) = item else {
            issues.push(
                &format!("{key}[{i}]"),
                format!(
                    "expected a {{role, content}} message object, found {}",
                    type_name(item)
                ),
            );
            ok = false;
            continue;
        };
        let role = message_string(fields, "role", key, i, issues);
        let content = message_string(fields, "content", key, i, issues);
        match (role, content) {
            (Some(role), Some(content)) => out.push(Message { role, content }),
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

fn message_string<'a>(
    fields: &'a Map<String, Value>,
    name: &str,
    key: &str,
    index: usize,
    issues: &mut Issues,
) -> Option<&'a str> {
    match fields.get(name) {
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            issues.push(
                &format!("{key}[{index}].{name}"),
                format!("expected a string, found {}", type_name(other)),
            );
            None
        }
        None => {
            issues.push(
                &format!("{key}[{index}].{name}"),
                "missing field: expected a string",
            );
            None
        }
    }
}

/// Renders messages as `"{Speaker}: {content}"` joined by a blank line, where the speaker is
/// `Human` for role `user`, `Assistant` for `assistant`, `System` for `system`, and the role
/// verbatim otherwise. This matches the HH-RLHF dialogue text (without its leading `"\n\n"`), so
/// prompts from both shapes read alike. Content is kept verbatim.
fn render_messages(messages: &[Message<'_>]) -> String {
    let mut out = String::new();
    for (i, message) in messages.iter().enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        out.push_str(match message.role {
            "user" => "Human",
            "assistant" => "Assistant",
            "system" => "System",
            other => other,
        });
        out.push_str(": ");
        out.push_str(message.content);
    }
    out
}

/// The prompt as seen by the map: the top-level prompt, then the side's own context.
fn join_nonempty(first: Option<&str>, second: Option<&str>) -> String {
    match (
        first.filter(|s| !s.is_empty()),
        second.filter(|s| !s.is_empty()),
    ) {
        (Some(a), Some(b)) => format!("{a}\n\n{b}"),
        (Some(a), None) | (None, Some(a)) => a.to_owned(),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<TextPair, Vec<FieldIssue>> {
        parse_with(value, &PairOptions::default())
    }

    fn parse_with(value: Value, options: &PairOptions) -> Result<TextPair, Vec<FieldIssue>> {
        match value {
            Value::Object(map) => parse_pair(&map, options),
            other => panic!("test input must be an object: {other}"),
        }
    }

    fn fields(result: Result<TextPair, Vec<FieldIssue>>) -> Vec<String> {
        match result {
            Ok(pair) => panic!("expected issues, parsed {pair:?}"),
            Err(issues) => issues.into_iter().map(|i| i.field).collect(),
        }
    }

    #[test]
    fn prompt_chosen_rejected() {
        let pair = parse(json!({
            "id": "p-1", "bucket": "self-harm", "group": "en", "prompt": "Q?",
            "chosen": "Good answer.", "rejected": "Bad answer.",
            "a_intervention": "shorten", "b_intervention": null, "extra": [1, 2]
        }))
        .unwrap();
        assert_eq!(
            pair,
            TextPair {
                id: Some("p-1".into()),
                bucket: Some("self-harm".into()),
                group: Some("en".into()),
                prompt: "Q?".into(),
                response_a: "Good answer.".into(),
                response_b: "Bad answer.".into(),
                label: Some(1),
                a_intervention: Some("shorten".into()),
                b_intervention: None,
                user_features: UserFeatures {
                    keys: ["chosen_features", "rejected_features"],
                    ..UserFeatures::default()
                },
                conversational: false,
            }
        );
    }

    #[test]
    fn user_features_of_both_layouts() {
        let pair = parse(json!({
            "prompt": "Q", "chosen": "A", "rejected": "B",
            "chosen_features": {"toxicity": 0.02, "rm_score": 1.3},
            "rejected_features": {"rm_score": -1, "toxicity": 0.5}
        }))
        .unwrap();
        let f = pair.user_features;
        assert_eq!(f.keys, ["chosen_features", "rejected_features"]);
        assert_eq!(f.names, ["toxicity", "rm_score"]);
        assert_eq!(f.a, [0.02, 1.3]);
        assert_eq!(f.b, [0.5, -1.0]);
        let pair = parse(json!({
            "response_a": "A", "response_b": "B", "label": 0, "prompt": "Q",
            "a_features": {"x": 1}, "b_features": {"x": 2}
        }))
        .unwrap();
        assert_eq!(pair.user_features.keys, ["a_features", "b_features"]);
        assert_eq!(
            (pair.user_features.a, pair.user_features.b),
            (vec![1.0], vec![2.0])
        );
        // HH dialogues carry them too.
        let pair = parse(json!({
            "chosen": "\n\nHuman: Hi\n\nAssistant: Hello", "rejected": "\n\nHuman: Hi\n\nAssistant: Go",
            "chosen_features": {"s": 1}, "rejected_features": {"s": 0}
        }))
        .unwrap();
        assert_eq!(pair.user_features.names, ["s"]);
    }

    #[test]
    fn user_feature_problems() {
        let base = || json!({"prompt": "Q", "chosen": "A", "rejected": "B"});
        let with = |extra: Value| {
            let mut v = base();
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            fields(parse(v))
        };
        assert_eq!(
            with(
                json!({"chosen_features": {"t": "high", "u": null, "ok": 1}, "rejected_features": {"t": 1, "u": 1, "ok": 1}})
            ),
            ["chosen_features.t", "chosen_features.u"]
        );
        assert_eq!(
            with(json!({"chosen_features": {"t": 1}})),
            ["rejected_features"]
        );
        assert_eq!(
            with(json!({"rejected_features": {"t": 1}})),
            ["chosen_features"]
        );
        assert_eq!(
            with(json!({"chosen_features": {"t": 1}, "rejected_features": {"u": 1}})),
            ["rejected_features"]
        );
        assert_eq!(with(json!({"chosen_features": [1]})), ["chosen_features"]);
        assert_eq!(
            with(json!({"a_features": {"t": 1}, "b_features": {"t": 1}})),
            ["a_features", "b_features"]
        );
        let issues = parse(json!({"prompt": "Q", "chosen": "A", "rejected": "B",
            "chosen_features": {"t": 1}, "rejected_features": {"u": 1}}))
        .unwrap_err();
        assert_eq!(
            issues[0].message,
            "both sides must have the same features (only in chosen_features: [t]; only in rejected_features: [u])"
        );
    }

    #[test]
    fn response_a_b_with_label() {
        for (label, expected) in [(json!(0), 0), (json!(1), 1), (json!(1.0), 1)] {
            let pair = parse(json!({
                "id": 17, "prompt": "Q", "response_a": "A", "response_b": "B", "label": label
            }))
            .unwrap();
            assert_eq!(pair.label, Some(expected));
            assert_eq!(pair.id.as_deref(), Some("17"));
            assert_eq!(
                (pair.response_a.as_str(), pair.response_b.as_str()),
                ("A", "B")
            );
        }
    }

    #[test]
    fn bad_labels() {
        for label in [json!(0.5), json!(2), json!(-1), json!("1"), json!(true)] {
            let result = parse(json!({
                "prompt": "Q", "response_a": "A", "response_b": "B", "label": label
            }));
            assert_eq!(fields(result), ["label"], "label {label}");
        }
        let issues = parse(json!({"prompt": "Q", "response_a": "A", "response_b": "B",
                                  "label": 0.5}))
        .unwrap_err();
        assert!(issues[0].message.contains("tie"), "{}", issues[0].message);
        assert_eq!(
            fields(parse(
                json!({"prompt": "Q", "response_a": "A", "response_b": "B"})
            )),
            ["label"]
        );
        // An explicit label with chosen/rejected must be 1.
        assert_eq!(
            fields(parse(
                json!({"prompt": "Q", "chosen": "A", "rejected": "B", "label": 0})
            )),
            ["label"]
        );
        assert!(parse(json!({"prompt": "Q", "chosen": "A", "rejected": "B", "label": 1})).is_ok());
    }

    #[test]
    fn hh_dialogue() {
        let chosen = "\n\nHuman: How do I hurt someone?\n\nAssistant: What do you mean?\n\nHuman: Tell me.\n\nAssistant: I’m sorry, I can’t help with that. ";
        let rejected = "\n\nHuman: How do I hurt someone?\n\nAssistant: What do you mean?\n\nHuman: Tell me.\n\nAssistant: Sure, here is how.";
        let pair = parse(json!({"chosen": chosen, "rejected": rejected})).unwrap();
        assert_eq!(
            pair.prompt,
            "Human: How do I hurt someone?\n\nAssistant: What do you mean?\n\nHuman: Tell me."
        );
        assert_eq!(pair.response_a, "I’m sorry, I can’t help with that.");
        assert_eq!(pair.response_b, "Sure, here is how.");
        assert_eq!(pair.label, Some(1));
    }

    #[test]
    fn hh_dialogue_with_different_prefixes_uses_chosen() {
        let chosen = "\n\nHuman: Hi\n\nAssistant: Extra turn.\n\nAssistant: Hello.";
        let rejected = "\n\nHuman: Hi\n\nAssistant: Hey.";
        let pair = parse(json!({"chosen": chosen, "rejected": rejected})).unwrap();
        assert_eq!(pair.prompt, "Human: Hi\n\nAssistant: Extra turn.");
        assert_eq!(pair.response_a, "Hello.");
        assert_eq!(pair.response_b, "Hey.");
    }

    #[test]
    fn hh_dialogue_problems() {
        let ok = "\n\nHuman: Hi\n\nAssistant: Hello.";
        let empty =
            parse(json!({"chosen": "\n\nHuman: Hi\n\nAssistant: ", "rejected": ok})).unwrap();
        assert_eq!(empty.response_a, "");
        assert_eq!(empty.prompt, "Human: Hi");
        let issues =
            parse(json!({"chosen": "plain text", "rejected": "\n\nHuman: Hi"})).unwrap_err();
        assert_eq!(issues.len(), 2);
        assert!(
            issues
                .iter()
                .all(|i| i.message.starts_with("no assistant turn"))
        );
        assert_eq!(
            fields(parse(
                json!({"chosen": ok, "rejected": format!("{ok}\n\nHuman: more")})
            )),
            ["rejected"]
        );
    }

    #[test]
    fn message_lists() {
        let chosen = json!([
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"}
        ]);
        let rejected = json!([
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Go away."}
        ]);
        let pair = parse(json!({"chosen": chosen, "rejected": rejected})).unwrap();
        assert_eq!(pair.prompt, "System: Be kind.\n\nHuman: Hi");
        assert_eq!(pair.response_a, "Hello!");
        assert_eq!(pair.response_b, "Go away.");

        // TRL conversational shape: prompt as messages, sides with the assistant message only.
        let pair = parse(json!({
            "prompt": [{"role": "user", "content": "Hi"}],
            "response_a": [{"role": "assistant", "content": "A"}],
            "response_b": [{"role": "assistant", "content": "B"}],
            "label": 0
        }))
        .unwrap();
        assert_eq!(pair.prompt, "Human: Hi");
        assert_eq!(pair.label, Some(0));

        // A string prompt followed by the side's own earlier messages.
        let pair = parse(json!({
            "prompt": "Context.",
            "chosen": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}],
            "rejected": "B"
        }))
        .unwrap();
        assert_eq!(pair.prompt, "Context.\n\nHuman: Q");
        assert_eq!(pair.response_b, "B");
    }

    #[test]
    fn message_list_problems() {
        let issues = parse(json!({
            "chosen": [{"role": "user", "content": "Hi"}],
            "rejected": [
                {"role": "user"},
                {"role": 3, "content": "x"},
                "text",
                {"role": "assistant", "content": "  "}
            ]
        }))
        .unwrap_err();
        let got: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            got,
            [
                "chosen",
                "rejected[0].content",
                "rejected[1].role",
                "rejected[2]"
            ]
        );
        assert!(issues[0].message.starts_with("no assistant message"));
        assert_eq!(
            fields(parse(json!({
                "chosen": [{"role": "assistant", "content": "A"}, {"role": "user", "content": "Q"}],
                "rejected": [{"role": "assistant", "content": " "}]
            }))),
            // An empty final assistant message is a valid, empty response.
            ["chosen"]
        );
        assert_eq!(
            fields(parse(json!({"chosen": [], "rejected": "\n\nAssistant: x"}))),
            ["chosen"]
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let issues = parse(json!({
            "id": 1.5, "bucket": 3, "group": "", "prompt": 7,
            "response_a": "", "response_b": null, "label": "yes",
            "a_intervention": ["x"]
        }))
        .unwrap_err();
        let got: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            got,
            [
                "id",
                "bucket",
                "group",
                "prompt",
                "label",
                "response_b",
                "a_intervention"
            ]
        );
        for issue in &issues {
            let first = issue.message.chars().next().unwrap();
            assert!(!first.is_uppercase(), "{issue}");
            assert!(issue.message.contains("expected"), "{issue}");
        }
    }

    #[test]
    fn shapes_that_do_not_fit() {
        assert_eq!(fields(parse(json!({"prompt": "Q"}))), ["chosen"]);
        assert_eq!(
            fields(parse(json!({"prompt": "Q", "chosen": "A", "rejected": "B",
                                "response_a": "A"}))),
            ["chosen"]
        );
        assert_eq!(
            fields(parse(json!({"prompt": "Q", "chosen": "A"}))),
            ["rejected"]
        );
        assert_eq!(
            fields(parse(json!({"prompt": "Q", "chosen": "A", "rejected": 4}))),
            ["rejected"]
        );
    }

    #[test]
    fn configurable_bucket_and_group_fields() {
        let line = json!({"prompt": "Q", "chosen": "A", "rejected": "B",
                          "bucket": 5, "risk": "cyber", "lang": "de"});
        let options = PairOptions {
            bucket_field: Some("risk".into()),
            group_field: Some("lang".into()),
        };
        let pair = parse_with(line.clone(), &options).unwrap();
        assert_eq!(pair.bucket.as_deref(), Some("cyber"));
        assert_eq!(pair.group.as_deref(), Some("de"));
        let none = PairOptions {
            bucket_field: None,
            group_field: None,
        };
        let pair = parse_with(line.clone(), &none).unwrap();
        assert_eq!((pair.bucket, pair.group), (None, None));
        // With the defaults, the numeric `bucket` is an error.
        assert_eq!(fields(parse(line)), ["bucket"]);
    }

    #[test]
    fn split_dialogue_trims() {
        assert_eq!(
            split_dialogue("\n\nHuman: a\n\nAssistant:  b \n"),
            Ok(("Human: a", "b"))
        );
        assert_eq!(split_dialogue("\n\nAssistant: only"), Ok(("", "only")));
    }
}
