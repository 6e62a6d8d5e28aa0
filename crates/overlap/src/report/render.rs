//! Renders a report view-model as Markdown, HTML or JSON.
//!
//! Entry point: [`render`]. JSON is the serialized view-model (pretty, one final newline).
//! Markdown and HTML come from minijinja templates: the files in `templates/` are embedded in the
//! binary as defaults ([`DEFAULT_TEMPLATES`]) and a folder given with `--templates DIR` replaces
//! them all (a missing or broken template is a [`RenderError`], never a silent fallback).
//! Auto-escaping follows the template's extension: `.html` escapes every value (so any string a
//! user supplied — intents, waiver reasons, names — is inert), `.md` does not, and Markdown
//! templates escape user text with the `md` filter. Charts are inline SVG from [`super::charts`],
//! passed to HTML templates as pre-escaped values. Numbers are formatted by filters with fixed
//! precision, undefined template variables are errors, and nothing reads the clock, so equal
//! views give equal bytes. This module does not sign, write files or read the store.

use crate::escape::markdown_text;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::value::{Serde, Value};
use minijinja::{Environment, ErrorKind, UndefinedBehavior};

use super::charts;
use super::view::{LabelView, Report};

/// The default templates, embedded at build time: (file name, source).
pub const DEFAULT_TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("label.html", include_str!("../../templates/label.html")),
    ("label.md", include_str!("../../templates/label.md")),
    (
        "adequacy.html",
        include_str!("../../templates/adequacy.html"),
    ),
    ("adequacy.md", include_str!("../../templates/adequacy.md")),
];

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Markdown,
    Html,
    Json,
}

impl ReportFormat {
    /// The name used on the command line and in the store: `md`, `html`, `json`.
    pub const fn name(self) -> &'static str {
        match self {
            ReportFormat::Markdown => "md",
            ReportFormat::Html => "html",
            ReportFormat::Json => "json",
        }
    }

    /// The format a file name's extension implies, if any.
    pub fn from_path(path: &Path) -> Option<ReportFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "md" | "markdown" => Some(ReportFormat::Markdown),
            "html" | "htm" => Some(ReportFormat::Html),
            "json" => Some(ReportFormat::Json),
            _ => None,
        }
    }
}

/// Where templates come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Templates {
    /// The embedded defaults.
    #[default]
    Embedded,
    /// Every template from this folder (`--templates DIR`).
    Dir(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template folder {0} does not exist or is not a folder")]
    NoTemplateDir(PathBuf),
    #[error(
        "template '{name}' is missing from {dir}; start from the defaults with `overlap report templates --output DIR`"
    )]
    MissingTemplate { name: String, dir: PathBuf },
    #[error(
        "template '{name}' needs a template that {dir} lacks ({detail}); start from the defaults with `overlap report templates --output DIR`"
    )]
    MissingInclude {
        name: String,
        dir: PathBuf,
        detail: String,
    },
    #[error("template '{name}' is broken: {detail}")]
    Template { name: String, detail: String },
    #[error("cannot serialize the report: {0}")]
    Serialize(String),
}

/// Renders `report` in `format`, with templates from `templates` for Markdown and HTML.
pub fn render(
    report: &Report,
    format: ReportFormat,
    templates: &Templates,
) -> Result<String, RenderError> {
    if format == ReportFormat::Json {
        let mut text = serde_json::to_string_pretty(report)
            .map_err(|e| RenderError::Serialize(e.to_string()))?;
        text.push('\n');
        return Ok(text);
    }
    let stem = match report {
        Report::Label(_) => "label",
        Report::Adequacy(_) => "adequacy",
    };
    let name = format!(
        "{stem}.{}",
        match format {
            ReportFormat::Html => "html",
            _ => "md",
        }
    );
    let env = environment(templates)?;
    if let Templates::Dir(dir) = templates {
        // Checked up front so the message names the folder rather than minijinja's generic one.
        if !dir.join(&name).is_file() {
            return Err(RenderError::MissingTemplate {
                name,
                dir: dir.clone(),
            });
        }
    }
    let broken = |e: minijinja::Error| template_error(&name, templates, e);
    let template = env.get_template(&name).map_err(broken)?;
    let mut ctx = BTreeMap::new();
    ctx.insert("report", Value::from(Serde(report)));
    if format == ReportFormat::Html {
        ctx.insert("charts", html_charts(report));
    }
    template.render(Value::from(ctx)).map_err(broken)
}

fn template_error(name: &str, templates: &Templates, e: minijinja::Error) -> RenderError {
    if e.kind() == ErrorKind::TemplateNotFound {
        if let Templates::Dir(dir) = templates {
            return RenderError::MissingInclude {
                name: e.name().unwrap_or(name).to_owned(),
                dir: dir.clone(),
                detail: e.detail().unwrap_or("a template does not exist").to_owned(),
            };
        }
    }
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    RenderError::Template {
        name: e.name().unwrap_or(name).to_owned(),
        detail,
    }
}

fn environment(templates: &Templates) -> Result<Environment<'static>, RenderError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // The default callback: `.html` escapes, `.md` does not.
    env.set_auto_escape_callback(minijinja::default_auto_escape_callback);
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|e| RenderError::Template {
            name: "(syntax)".into(),
            detail: e.to_string(),
        })?;
    env.set_syntax(syntax);
    env.add_filter("num", filter_num);
    env.add_filter("pct", filter_pct);
    env.add_filter("signed", filter_signed);
    env.add_filter("md", filter_md);
    env.add_filter("short_hash", filter_short_hash);
    match templates {
        Templates::Embedded => {
            for (name, source) in DEFAULT_TEMPLATES {
                env.add_template(name, source)
                    .map_err(|e| template_error(name, templates, e))?;
            }
        }
        Templates::Dir(dir) => {
            if !dir.is_dir() {
                return Err(RenderError::NoTemplateDir(dir.clone()));
            }
            let dir = dir.clone();
            env.set_loader(move |name| load_template(&dir, name));
        }
    }
    Ok(env)
}

/// Reads `DIR/name`; names are plain file names (no folders, no `..`), so a template cannot
/// include files outside the folder.
fn load_template(dir: &Path, name: &str) -> Result<Option<String>, minijinja::Error> {
    let plain = !name.is_empty()
        && !name.contains(['/', '\\'])
        && name != "."
        && name != ".."
        && !name.starts_with('.');
    if !plain {
        return Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("template name '{name}' must be a plain file name inside the template folder"),
        ));
    }
    let path = dir.join(name);
    // A symlink may point anywhere (`label.md -> /etc/passwd` would be embedded in a signed
    // report): the file read must resolve inside the folder.
    match (path.canonicalize(), dir.canonicalize()) {
        (Ok(real), Ok(folder)) if !real.starts_with(&folder) => {
            return Err(minijinja::Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "{} resolves to {}, outside the template folder; copy the file into the folder instead of linking it",
                    path.display(),
                    real.display()
                ),
            ));
        }
        _ => {}
    }
    match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
            minijinja::Error::new(
                ErrorKind::InvalidOperation,
                format!("{} is not UTF-8 text", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

/// Charts keyed by kind and bucket: `spectrum`, `pairs`, `arms` (maps bucket → SVG) and
/// `history` (SVG or none). Values are marked safe: [`charts`] escapes everything it writes.
fn html_charts(report: &Report) -> Value {
    let mut spectrum = BTreeMap::new();
    let mut pairs = BTreeMap::new();
    let mut arms = BTreeMap::new();
    let mut history = Value::from(());
    match report {
        Report::Label(view) => {
            for b in &view.buckets {
                if let Some(m) = &b.metrics {
                    spectrum.insert(
                        b.bucket.clone(),
                        Value::from_safe_string(charts::spectrum(
                            &b.bucket,
                            &m.eigenvalues,
                            b.lambda_min_threshold,
                        )),
                    );
                    pairs.insert(
                        b.bucket.clone(),
                        Value::from_safe_string(charts::pair_shares(b, &m.pairs)),
                    );
                    arms.insert(
                        b.bucket.clone(),
                        Value::from_safe_string(charts::arm_mix(&b.bucket, &m.arms)),
                    );
                }
            }
            history = label_history(view);
        }
        Report::Adequacy(view) => {
            for b in &view.buckets {
                if b.directions.is_empty() {
                    continue;
                }
                let values: Vec<f64> = b.directions.iter().map(|d| d.eigenvalue).collect();
                let threshold = b
                    .threshold
                    .as_ref()
                    .filter(|t| t.rule.is_some())
                    .map(|t| t.value);
                spectrum.insert(
                    b.bucket.clone(),
                    Value::from_safe_string(charts::spectrum(&b.bucket, &values, threshold)),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    out.insert("spectrum", Value::from(spectrum));
    out.insert("pairs", Value::from(pairs));
    out.insert("arms", Value::from(arms));
    out.insert("history", history);
    Value::from(out)
}

fn label_history(view: &LabelView) -> Value {
    if view.history.len() < 2 {
        return Value::from(());
    }
    let thresholds: Vec<(String, Option<f64>)> = view
        .buckets
        .iter()
        .map(|b| (b.bucket.clone(), b.lambda_min_threshold))
        .collect();
    Value::from_safe_string(charts::lambda_history(&view.history, &thresholds))
}

fn as_number(value: &Value) -> Result<Option<f64>, minijinja::Error> {
    if value.is_none() || value.is_undefined() {
        return Ok(None);
    }
    f64::try_from(value.clone()).map(Some).map_err(|_| {
        minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("expected a number, got {value}"),
        )
    })
}

use crate::model::number::format_number;

fn filter_num(value: Value) -> Result<String, minijinja::Error> {
    Ok(as_number(&value)?.map_or_else(|| "—".to_owned(), format_number))
}

fn filter_pct(value: Value) -> Result<String, minijinja::Error> {
    Ok(as_number(&value)?.map_or_else(
        || "—".to_owned(),
        |x| {
            if x.is_finite() {
                format!("{:.1}%", 100.0 * x)
            } else {
                "n/a".to_owned()
            }
        },
    ))
}

fn filter_signed(value: Value) -> Result<String, minijinja::Error> {
    Ok(as_number(&value)?.map_or_else(
        || "—".to_owned(),
        |x| {
            if x > 0.0 {
                format!("+{}", format_number(x))
            } else {
                format_number(x)
            }
        },
    ))
}

fn filter_md(value: Value) -> String {
    if value.is_none() || value.is_undefined() {
        return "—".to_owned();
    }
    match value.as_str() {
        Some(s) => markdown_text(s),
        None => markdown_text(&value.to_string()),
    }
}

fn filter_short_hash(value: Value) -> String {
    let s = value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned);
    s.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_names_stay_inside_the_folder() {
        let dir = std::env::temp_dir();
        assert!(load_template(&dir, "../etc/passwd").is_err());
        assert!(load_template(&dir, ".hidden").is_err());
        assert!(load_template(&dir, "a/b.html").is_err());
    }

    #[test]
    fn formats_follow_extensions() {
        assert_eq!(
            ReportFormat::from_path(Path::new("x/label.HTML")),
            Some(ReportFormat::Html)
        );
        assert_eq!(
            ReportFormat::from_path(Path::new("a.md")),
            Some(ReportFormat::Markdown)
        );
        assert_eq!(ReportFormat::from_path(Path::new("a.txt")), None);
    }
}
