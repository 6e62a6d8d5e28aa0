//! The dataset card in the formats other tools read: a Croissant 1.0 JSON-LD description with the
//! Responsible-AI vocabulary filled from the overlap findings, and the YAML header of a Hugging
//! Face dataset card (its body is the nutrition label's Markdown). Pure: the caller supplies the
//! analysis, the gate evaluation, the audit evidence and the exported records' file and digest.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use crate::model::VersionInfo;
use crate::model::analysis::{AuditSummary, VersionAnalysis};
use crate::model::number::format_number;
use crate::policy::findings::{Evaluation, GateVerdict, Outcome, WaiverState};

/// What the card describes and where its data file is.
pub struct CardInputs<'a> {
    pub info: &'a VersionInfo,
    pub analysis: &'a VersionAnalysis,
    pub evaluation: &'a Evaluation,
    pub audits: &'a [AuditSummary],
    /// The records file beside the card (relative path) and its SHA-256.
    pub data_file: &'a str,
    pub data_sha256: &'a str,
    /// Whether the records carry response texts (a `prompt` field).
    pub texts: bool,
    /// An SPDX license id or URL, when the user gave one.
    pub license: Option<&'a str>,
    /// The card's date (`datePublished`; no clock is read here).
    pub date: chrono::NaiveDate,
}

/// Bucket findings below this share of crossed comparisons are named as entangled.
const ENTANGLED_SHARE: f64 = 0.05;

/// The Croissant 1.0 JSON-LD document.
pub fn croissant(c: &CardInputs<'_>) -> Value {
    let info = c.info;
    let name = format!("{}@{}", info.dataset, info.version);
    let mut doc = Map::new();
    doc.insert("@context".into(), context());
    doc.insert("@type".into(), json!("sc:Dataset"));
    doc.insert(
        "conformsTo".into(),
        json!("http://mlcommons.org/croissant/1.0"),
    );
    doc.insert("name".into(), json!(name));
    doc.insert(
        "description".into(),
        json!(format!(
            "Pairwise preference comparisons ({} comparisons, {} buckets), version {} of dataset '{}' (content digest sha256:{}), governed with overlap {}: gate '{}' {}.",
            info.n,
            c.analysis.buckets.len(),
            info.version,
            info.dataset,
            info.digest,
            crate::TOOL_VERSION,
            c.evaluation.policy.name,
            verdict(c.evaluation.verdict)
        )),
    );
    doc.insert("version".into(), json!(format!("{}.0.0", info.version)));
    doc.insert(
        "datePublished".into(),
        json!(c.date.format("%Y-%m-%d").to_string()),
    );
    doc.insert(
        "citeAs".into(),
        json!(format!(
            "@misc{{{}_v{}, title = {{{}, version {}}}, note = {{sha256:{}}}}}",
            info.dataset
                .replace(|ch: char| !ch.is_ascii_alphanumeric(), "_"),
            info.version,
            info.dataset,
            info.version,
            info.digest
        )),
    );
    if let Some(license) = c.license {
        doc.insert("license".into(), json!(license));
    }
    doc.insert(
        "distribution".into(),
        json!([{
            "@type": "cr:FileObject",
            "@id": "records",
            "name": "records",
            "description": "The version's comparison records as JSON lines (re-importable to the same digest).",
            "contentUrl": c.data_file,
            "encodingFormat": "application/jsonlines",
            "sha256": c.data_sha256,
        }]),
    );
    doc.insert("recordSet".into(), json!([record_set(c)]));
    doc.insert("rai:dataCollection".into(), json!(collection(c)));
    doc.insert(
        "rai:dataCollectionType".into(),
        json!(if c
            .analysis
            .buckets
            .iter()
            .any(|b| !b.interventions.is_empty())
        {
            "Experiments (controlled response edits), Others (pairwise preference labels)"
        } else {
            "Others (pairwise preference labels)"
        }),
    );
    doc.insert("rai:dataBiases".into(), json!(biases(c.analysis)));
    doc.insert(
        "rai:dataLimitations".into(),
        json!(limitations(c.evaluation)),
    );
    doc.insert(
        "rai:dataAnnotationProtocol".into(),
        json!(annotation(c.audits, c.analysis)),
    );
    doc.insert(
        "rai:dataPreprocessingProtocol".into(),
        json!(preprocessing(info)),
    );
    doc.insert(
        "rai:dataUseCases".into(),
        json!(format!(
            "Training and evaluating reward models and preference-optimised policies (Bradley–Terry–Luce, DPO) where the policy '{}' (sha256:{}) holds; the findings above say in which directions the data does not identify preference weights.",
            c.evaluation.policy.name, c.evaluation.policy.digest
        )),
    );
    Value::Object(doc)
}

fn verdict(v: GateVerdict) -> &'static str {
    match v {
        GateVerdict::Pass => "passed",
        GateVerdict::Fail => "failed",
    }
}

fn record_set(c: &CardInputs<'_>) -> Value {
    // Top-level keys of the JSON lines: `extract.column` (mlcroissant reads JSON lines as a
    // table whose columns are the keys).
    let field = |name: &str, data_type: &str, column: &str, description: &str| {
        json!({
            "@type": "cr:Field",
            "@id": format!("comparisons/{name}"),
            "name": name,
            "description": description,
            "dataType": data_type,
            "source": {"fileObject": {"@id": "records"}, "extract": {"column": column}},
        })
    };
    let mut fields = vec![
        field("id", "sc:Text", "id", "The comparison's id."),
        field("bucket", "sc:Text", "bucket", "The risk bucket."),
        field(
            "label",
            "sc:Integer",
            "label",
            "1 when response a is preferred, 0 when b is.",
        ),
    ];
    if c.texts {
        fields.push(field("prompt", "sc:Text", "prompt", "The prompt."));
    }
    json!({
        "@type": "cr:RecordSet",
        "@id": "comparisons",
        "name": "comparisons",
        "description": "One pairwise comparison per record.",
        "field": fields,
    })
}

fn collection(c: &CardInputs<'_>) -> String {
    let info = c.info;
    let mut s = format!(
        "Imported by {} on {} from {}",
        info.created_by,
        info.created_at,
        info.source.as_deref().unwrap_or("an unnamed source")
    );
    if let Some(p) = info.parent {
        let _ = write!(s, " as the successor of version {p}");
    }
    s.push('.');
    if info.rejected > 0 {
        let _ = write!(
            s,
            " {} records were rejected at import (their list has sha256:{}).",
            info.rejected,
            info.rejects_sha256.as_deref().unwrap_or("?")
        );
    }
    if info.dropped_ties > 0 {
        let _ = write!(s, " {} ties were dropped.", info.dropped_ties);
    }
    for b in &c.analysis.buckets {
        let edited: Vec<String> = b
            .interventions
            .iter()
            .map(|i| format!("{} ({} comparisons)", i.name, i.comparisons))
            .collect();
        if !edited.is_empty() {
            let _ = write!(
                s,
                " Bucket {}: responses edited by {}.",
                b.bucket,
                edited.join(", ")
            );
        }
    }
    s
}

fn biases(analysis: &VersionAnalysis) -> String {
    let mut parts = Vec::new();
    for b in &analysis.buckets {
        let mut s = format!("Bucket {} ({} comparisons): ", b.bucket, b.n);
        if !b.absent_features.is_empty() {
            let _ = write!(
                s,
                "never varies in {} (nothing can be said about their weights); ",
                b.absent_features.join(", ")
            );
        }
        let _ = write!(
            s,
            "weakest direction {} (λ_min {}",
            b.weakest_direction_words,
            format_number(b.metrics.lambda_min)
        );
        if let Some(k) = b.metrics.condition_number {
            let _ = write!(s, ", condition number {}", format_number(k));
        }
        s.push(')');
        let entangled: Vec<String> = b
            .pairs
            .iter()
            .filter(|p| p.discordant_share.is_some_and(|d| d < ENTANGLED_SHARE))
            .map(|p| format!("{} and {}", p.features[0], p.features[1]))
            .collect();
        if !entangled.is_empty() {
            let _ = write!(
                s,
                "; move together (under {}% crossed comparisons): {}",
                ENTANGLED_SHARE * 100.0,
                entangled.join("; ")
            );
        }
        if let (Some(share), Some(p)) = (b.longer_share, b.longer_p) {
            let _ = write!(
                s,
                "; the preferred response is longer in {}% of pairs (sign test p = {})",
                format_number(share * 100.0),
                format_number(p)
            );
        }
        s.push('.');
        parts.push(s);
    }
    parts.join(" ")
}

fn limitations(evaluation: &Evaluation) -> String {
    let mut s = format!(
        "Gate '{}' {} on {}.",
        evaluation.policy.name,
        verdict(evaluation.verdict),
        evaluation.evaluated_on.format("%Y-%m-%d")
    );
    for f in &evaluation.findings {
        let word = match f.outcome {
            Outcome::Fail => "fails",
            Outcome::Warn => "warns",
            Outcome::Waived => "is waived",
            Outcome::NoData => "has no data",
            Outcome::Pass => continue,
        };
        let _ = write!(
            s,
            " {} {word} on bucket {}: {}.",
            f.rule.as_deref().unwrap_or("a required bucket"),
            f.bucket,
            f.message
        );
    }
    for w in &evaluation.waivers {
        let state = match w.state {
            WaiverState::Active => "active",
            WaiverState::Unused => "unused",
            WaiverState::Expired => "expired",
        };
        let _ = write!(
            s,
            " Waiver of {} on {} ({state}, owner {}, ticket {}, expires {}): {}.",
            w.rule,
            w.bucket,
            w.owner,
            w.ticket,
            w.expires.format("%Y-%m-%d"),
            w.reason
        );
    }
    s
}

fn annotation(audits: &[AuditSummary], analysis: &VersionAnalysis) -> String {
    let mut s = String::from(
        "Each record is one pairwise preference label (which of two responses is preferred).",
    );
    if analysis.fixed_orientation {
        s.push_str(
            " The import oriented every pair as chosen/rejected, so label balance does not apply.",
        );
    }
    let audited: Vec<&AuditSummary> = audits.iter().filter(|a| a.audited > 0).collect();
    if audited.is_empty() {
        s.push_str(" No audit verdicts are recorded for this version.");
    }
    for a in audited {
        let _ = write!(
            s,
            " Bucket {}: {} comparisons audited, pass rate {}",
            a.bucket,
            a.audited,
            a.pass_rate.map_or("n/a".into(), format_number)
        );
        if let (Some(lo), Some(hi)) = (a.wilson_low, a.wilson_high) {
            let _ = write!(
                s,
                " (95% Wilson {}–{})",
                format_number(lo),
                format_number(hi)
            );
        }
        s.push('.');
    }
    s
}

fn preprocessing(info: &VersionInfo) -> String {
    let schema = &info.schema;
    let scales: Vec<String> = schema
        .features
        .iter()
        .zip(&schema.scales)
        .map(|(f, s)| format!("{f}={}", format_number(*s)))
        .collect();
    format!(
        "Features {} from {}, standardized by the scales {}.",
        schema.features.join(", "),
        schema
            .feature_map
            .as_deref()
            .map_or("the records themselves".to_string(), |m| format!(
                "the built-in feature map {m}"
            )),
        scales.join(", ")
    )
}

/// The YAML header of a Hugging Face dataset card (the label's Markdown is the body).
pub fn hugging_face_header(c: &CardInputs<'_>) -> String {
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let mut y = String::from("---\n");
    if let Some(l) = c.license {
        let _ = writeln!(y, "license: {}", quote(l));
    }
    let _ = writeln!(
        y,
        "pretty_name: {}",
        quote(&format!("{}@{}", c.info.dataset, c.info.version))
    );
    y.push_str("task_categories:\n- text-classification\n");
    y.push_str("tags:\n- preference\n- reward-modeling\n- overlap\n");
    y.push_str("configs:\n- config_name: default\n  data_files:\n");
    let _ = writeln!(y, "  - split: train\n    path: {}", quote(c.data_file));
    y.push_str("---\n");
    y
}

/// The JSON-LD context of Croissant 1.0 (the specification's, with the RAI vocabulary).
fn context() -> Value {
    json!({
        "@language": "en",
        "@vocab": "https://schema.org/",
        "citeAs": "cr:citeAs",
        "column": "cr:column",
        "conformsTo": "dct:conformsTo",
        "cr": "http://mlcommons.org/croissant/",
        "rai": "http://mlcommons.org/croissant/RAI/",
        "data": {"@id": "cr:data", "@type": "@json"},
        "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
        "dct": "http://purl.org/dc/terms/",
        "equivalentProperty": "cr:equivalentProperty",
        "examples": {"@id": "cr:examples", "@type": "@json"},
        "extract": "cr:extract",
        "field": "cr:field",
        "fileProperty": "cr:fileProperty",
        "fileObject": "cr:fileObject",
        "fileSet": "cr:fileSet",
        "format": "cr:format",
        "includes": "cr:includes",
        "isLiveDataset": "cr:isLiveDataset",
        "jsonPath": "cr:jsonPath",
        "key": "cr:key",
        "md5": "cr:md5",
        "parentField": "cr:parentField",
        "path": "cr:path",
        "recordSet": "cr:recordSet",
        "references": "cr:references",
        "regex": "cr:regex",
        "repeated": "cr:repeated",
        "replace": "cr:replace",
        "samplingRate": "cr:samplingRate",
        "sc": "https://schema.org/",
        "separator": "cr:separator",
        "source": "cr:source",
        "subField": "cr:subField",
        "transform": "cr:transform"
    })
}
