//! Writing comparisons back out in the import formats, so that re-importing an export reproduces
//! the version's digest (numbers are written in their shortest round-tripping form).

use std::io::Write;

use serde_json::{Map, Value, json};

use crate::model::{Comparison, FeatureSchema, FeatureValues};

fn features_object(schema: &FeatureSchema, values: &[f64]) -> Value {
    let mut m = Map::new();
    for (name, v) in schema.features.iter().zip(values) {
        m.insert(name.clone(), json!(v));
    }
    Value::Object(m)
}

/// One comparison as a TRL preference record (`prompt`, `chosen`, `rejected`, explicit prompt),
/// the preferred response first: strings (the standard form), or with `conversational` message
/// lists (the prompt's turns, then one assistant message per side), as the data was imported.
/// `None` when the comparison carries no text at all (a feature record).
pub fn trl_record(c: &Comparison, conversational: bool) -> Option<Value> {
    let (prompt, chosen, rejected) = trl_texts(c)?;
    if !conversational {
        return Some(json!({
            "prompt": prompt,
            "chosen": chosen,
            "rejected": rejected,
        }));
    }
    let message = |(role, content): (&str, &str)| json!({"role": role, "content": content});
    let assistant = |text: &str| json!([message(("assistant", text))]);
    Some(json!({
        "prompt": prompt_messages(&prompt).into_iter().map(message).collect::<Vec<_>>(),
        "chosen": assistant(&chosen),
        "rejected": assistant(&rejected),
    }))
}

/// The turns of a prompt stored from messages (`Human: …`, `Assistant: …`, `System: …` joined by
/// blank lines, as the importer renders them) as (role, content); a prompt without speaker
/// tags is one user message. Rendering the turns again gives the prompt back exactly, so a
/// conversational export re-imports to the same digest.
pub fn prompt_messages(prompt: &str) -> Vec<(&'static str, &str)> {
    const SPEAKERS: [(&str, &str); 3] = [
        ("Human: ", "user"),
        ("Assistant: ", "assistant"),
        ("System: ", "system"),
    ];
    let speaker = |text: &str| {
        SPEAKERS
            .iter()
            .find(|(tag, _)| text.starts_with(tag))
            .map(|(tag, role)| (tag.len(), *role))
    };
    if prompt.is_empty() {
        return Vec::new();
    }
    let Some((first_tag, first_role)) = speaker(prompt) else {
        return vec![("user", prompt)];
    };
    let mut out = Vec::new();
    let (mut role, mut start) = (first_role, first_tag);
    let mut search = start;
    while let Some(i) = prompt[search..].find("\n\n").map(|i| search + i) {
        match speaker(&prompt[i + 2..]) {
            Some((tag, next)) => {
                out.push((role, &prompt[start..i]));
                role = next;
                start = i + 2 + tag;
                search = start;
            }
            None => search = i + 2,
        }
    }
    out.push((role, &prompt[start..]));
    out
}

/// A comparison's prompt, preferred and other response (every TRL export's content). An empty
/// text is stored as absent, so an absent side is an empty response; `None` for a feature record.
pub fn trl_texts(c: &Comparison) -> Option<(String, String, String)> {
    if c.a_text.is_none() && c.b_text.is_none() && c.prompt.is_none() {
        return None;
    }
    let text = |t: &Option<String>| t.clone().unwrap_or_default();
    let (a, b) = (text(&c.a_text), text(&c.b_text));
    let (chosen, rejected) = if c.label == 1 { (a, b) } else { (b, a) };
    Some((text(&c.prompt), chosen, rejected))
}

/// One comparison as a JSON Lines record (DESIGN §3 field order).
pub fn jsonl_record(schema: &FeatureSchema, c: &Comparison) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(c.id));
    m.insert("bucket".into(), json!(c.bucket));
    if let Some(g) = &c.group {
        m.insert("group".into(), json!(g));
    }
    if let Some(p) = &c.prompt_id {
        m.insert("prompt_id".into(), json!(p));
    }
    let side = |intervention: &Option<String>, features: Option<&[f64]>, text: &Option<String>| {
        let mut s = Map::new();
        s.insert("intervention".into(), json!(intervention));
        if let Some(f) = features {
            s.insert("features".into(), features_object(schema, f));
        }
        if let Some(t) = text {
            s.insert("text".into(), json!(t));
        }
        Value::Object(s)
    };
    match &c.values {
        FeatureValues::Sides { a, b } => {
            m.insert("a".into(), side(&c.a_intervention, Some(a), &c.a_text));
            m.insert("b".into(), side(&c.b_intervention, Some(b), &c.b_text));
        }
        FeatureValues::Delta(d) => {
            if c.a_intervention.is_some() || c.a_text.is_some() {
                m.insert("a".into(), side(&c.a_intervention, None, &c.a_text));
            }
            if c.b_intervention.is_some() || c.b_text.is_some() {
                m.insert("b".into(), side(&c.b_intervention, None, &c.b_text));
            }
            m.insert("delta".into(), features_object(schema, d));
        }
    }
    m.insert("label".into(), json!(c.label));
    if let Some(l) = &c.labeler {
        m.insert("labeler".into(), json!(l));
    }
    if let Some(p) = &c.prompt {
        m.insert("prompt".into(), json!(p));
    }
    Value::Object(m)
}

/// Writes CSV rows with a fixed header chosen from the version's shape.
pub struct CsvExporter<W: Write> {
    writer: csv::Writer<W>,
    delta: bool,
    texts: bool,
}

impl<W: Write> CsvExporter<W> {
    pub fn new(out: W, schema: &FeatureSchema, delta: bool, texts: bool) -> csv::Result<Self> {
        let mut writer = csv::Writer::from_writer(out);
        let mut header: Vec<String> = [
            "id",
            "bucket",
            "group",
            "prompt_id",
            "label",
            "labeler",
            "a.intervention",
            "b.intervention",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if delta {
            header.extend(schema.features.iter().map(|f| format!("delta.{f}")));
        } else {
            header.extend(schema.features.iter().map(|f| format!("a.{f}")));
            header.extend(schema.features.iter().map(|f| format!("b.{f}")));
        }
        if texts {
            header.extend(["prompt", "a.text", "b.text"].iter().map(|s| s.to_string()));
        }
        writer.write_record(&header)?;
        Ok(CsvExporter {
            writer,
            delta,
            texts,
        })
    }

    pub fn write(&mut self, c: &Comparison) -> csv::Result<()> {
        let opt = |s: &Option<String>| s.clone().unwrap_or_default();
        let mut row = vec![
            c.id.clone(),
            c.bucket.clone(),
            opt(&c.group),
            opt(&c.prompt_id),
            c.label.to_string(),
            opt(&c.labeler),
            opt(&c.a_intervention),
            opt(&c.b_intervention),
        ];
        match (&c.values, self.delta) {
            (FeatureValues::Delta(d), true) => row.extend(d.iter().map(|v| v.to_string())),
            (FeatureValues::Sides { a, b }, false) => {
                row.extend(a.iter().map(|v| v.to_string()));
                row.extend(b.iter().map(|v| v.to_string()));
            }
            _ => {
                return Err(csv::Error::from(std::io::Error::other(
                    "this version mixes per-side and delta records: export it as jsonl",
                )));
            }
        }
        if self.texts {
            row.extend([opt(&c.prompt), opt(&c.a_text), opt(&c.b_text)]);
        }
        self.writer.write_record(&row)
    }

    pub fn finish(mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}
