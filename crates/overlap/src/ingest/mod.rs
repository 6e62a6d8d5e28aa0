//! Reading comparison files (JSONL, CSV, text pairs; gzip transparently) into validated
//! `Comparison`s and streaming them into a new dataset version.
//!
//! Entry point: [`import`]. Every record is validated (syntax, required fields, labels, finiteness,
//! the feature set, interventions, duplicate ids); every problem is collected with file, line and
//! field. Rows go to the store while no problem has been seen, and any problem rolls the whole import
//! back, so bad input never half-lands and memory stays flat (the file is never held). No SQL here.
//! The first version's schema is the input's features (for text pairs: the map's, then the pairs'
//! own), narrowed by an optional [`FeatureSelection`]; later versions must match it.

mod candidates;
mod csv_input;
mod detect;
pub mod export;
#[cfg(feature = "parquet")]
pub mod export_parquet;
mod jsonl;
mod pairs;
#[cfg(feature = "parquet")]
mod parquet_input;
mod problems;
mod record;
mod rejects;
mod shards;
pub(crate) mod strict_json;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use thiserror::Error;

pub use candidates::read_candidates;
pub use detect::{Detected, detect};
pub use problems::{Problem, Problems};
pub use record::{RawFeatures, RawRecord};
pub use shards::names_parquet;

use crate::model::VersionInfo;
use crate::model::digest::{ContentHasher, hex, row_fingerprint};
use crate::model::{Comparison, FeatureSchema, FeatureValues, ScaleSource};
use crate::storage::{Finished, ImportFailure, ImportOutcome, NewVersion, StorageError, Store};
use crate::textmap::FeatureMap;

/// Input formats of `dataset import`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Jsonl,
    Csv,
    /// Text pairs (`{"prompt","chosen","rejected"}` and friends) through a built-in feature map.
    Pairs,
}

/// Where a record's id comes from (`--id-from`): its `id` field by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdSource {
    /// `line-N`, N the record's line: stable for a given file.
    Line,
    /// `sha256:` and 24 hex digits of the record's content (everything but the id), so the same
    /// record gets the same id in every version and every input format; identical records are
    /// duplicates.
    Content,
    /// Another field (a JSONL key, a CSV column) holding a string or integer.
    Field(String),
}

impl IdSource {
    /// `line`, `content`, or any other text as a field name.
    pub fn parse(s: &str) -> IdSource {
        match s {
            "line" => IdSource::Line,
            "content" => IdSource::Content,
            field => IdSource::Field(field.to_string()),
        }
    }
}

/// How scales are chosen for the first version.
#[derive(Debug, Clone, PartialEq)]
pub enum ScaleChoice {
    Rms,
    Unit,
    Explicit(BTreeMap<String, f64>),
}

/// Options of one import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub format: InputFormat,
    pub scales: Option<ScaleChoice>,
    pub drop_ties: bool,
    /// Text pairs only: the built-in map that computes the features.
    pub feature_map: FeatureMap,
    /// Which of the input's features the first version's schema keeps (every one when `None`).
    pub selection: Option<FeatureSelection>,
    /// Text pairs only: the field carrying the bucket / group.
    pub bucket_field: Option<String>,
    pub group_field: Option<String>,
    /// Where ids come from (`None`: the `id` field; text pairs without one get `line-N`).
    pub id_from: Option<IdSource>,
    /// Stop reading after this many problems (`None`: read the whole input).
    pub max_errors: Option<u64>,
    /// Parquet shards: the split to read (`data/<split>-*.parquet`) when a folder holds several.
    pub split: Option<String>,
}

impl ImportOptions {
    /// The defaults of `dataset import` for `format`: RMS scales, ties rejected, `text-v2`, every
    /// feature kept, the `bucket` and `group` fields.
    #[must_use]
    pub fn new(format: InputFormat) -> Self {
        ImportOptions {
            format,
            scales: None,
            drop_ties: false,
            feature_map: FeatureMap::default(),
            selection: None,
            bucket_field: None,
            group_field: None,
            id_from: None,
            max_errors: None,
            split: None,
        }
    }
}

/// The features an import keeps, by name: exactly `Keep`'s (in the input's order, not the list's)
/// or all but `Exclude`'s. Names are checked against the input's features (those of its first
/// record, or a CSV header), the map's and the pairs' own included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureSelection {
    Keep(Vec<String>),
    Exclude(Vec<String>),
}

impl FeatureSelection {
    fn keeps(&self, name: &str) -> bool {
        match self {
            FeatureSelection::Keep(names) => names.iter().any(|n| n == name),
            FeatureSelection::Exclude(names) => !names.iter().any(|n| n == name),
        }
    }

    /// The option that chose this selection, for problems about it.
    fn flag(&self) -> &'static str {
        match self {
            FeatureSelection::Keep(_) => "--features",
            FeatureSelection::Exclude(_) => "--exclude-features",
        }
    }

    fn names(&self) -> &[String] {
        match self {
            FeatureSelection::Keep(names) | FeatureSelection::Exclude(names) => names,
        }
    }
}

/// State of a registered intervention as imports see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterventionState {
    Active,
    Retired,
}

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("{0}")]
    Invalid(Problems),
    #[error(transparent)]
    Storage(#[from] StorageError),
    // The cause is part of the message and deliberately not a `#[source]`, so error chains do
    // not print it twice.
    #[error("cannot read {file}: {cause}")]
    Io { file: String, cause: std::io::Error },
    /// A file that is there but cannot be read as what it names (a damaged Parquet file, a
    /// folder of shards without the split asked for, Parquet in a build without it).
    #[error("cannot read {file}: {message}")]
    Unreadable { file: String, message: String },
}

/// Result of a successful import call.
#[derive(Debug)]
pub struct ImportReport {
    pub outcome: ImportOutcome,
    pub rows: u64,
    pub dropped_ties: u64,
    /// Records left out by `--skip-invalid` (listed in the rejects file).
    pub rejected: u64,
    /// What the import ignored and a person should know (each once), for the front end to show.
    pub warnings: Vec<String>,
}

/// What an import reads: a byte stream (JSON lines or CSV, gzip undone), or Parquet shards.
pub enum Input {
    Stream(Box<dyn BufRead + Send>),
    /// The shards in the order their rows are read.
    Parquet(Vec<std::path::PathBuf>),
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::Stream(_) => f.write_str("Input::Stream"),
            Input::Parquet(shards) => f.debug_tuple("Input::Parquet").field(shards).finish(),
        }
    }
}

impl Input {
    /// Opens `path`: a `.parquet` file, a folder of shards or a glob is Parquet (`split` picks
    /// one split of a folder or glob); anything else is a stream ([`open_input`]).
    pub fn open(path: &str, split: Option<&str>) -> Result<Input, ImportError> {
        if shards::names_parquet(path) {
            if !cfg!(feature = "parquet") {
                return Err(ImportError::Unreadable {
                    file: path.to_string(),
                    message: "this build of overlap reads no Parquet: build it with `--features parquet`, or convert the file to JSON lines".into(),
                });
            }
            return Ok(Input::Parquet(shards::shards(path, split)?));
        }
        if split.is_some() {
            return Err(ImportError::Unreadable {
                file: path.to_string(),
                message: "--split picks a split among Parquet shards (a folder or a glob)".into(),
            });
        }
        Ok(Input::Stream(open_input(path)?))
    }
}

/// How far an import has read, for a progress display: bytes of a file (`total` its size), or
/// rows of Parquet shards (`total` from their metadata); no total for standard input.
#[derive(Debug, Clone)]
pub struct Meter {
    /// Bytes read so far (streams); unused for Parquet, whose progress is rows.
    read: Arc<std::sync::atomic::AtomicU64>,
    pub unit: MeterUnit,
    pub total: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeterUnit {
    Bytes,
    Rows,
}

impl Meter {
    /// Progress after `rows` rows: bytes read so far, or the rows themselves.
    pub fn done(&self, rows: u64) -> u64 {
        match self.unit {
            MeterUnit::Bytes => self.read.load(std::sync::atomic::Ordering::Relaxed),
            MeterUnit::Rows => rows,
        }
    }
}

/// A reader that counts the bytes read through it (the file's, before gzip is undone).
struct Counting<R> {
    inner: R,
    read: Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// [`Input::open`] with a [`Meter`] of how far reading has got.
pub fn open_metered(path: &str, split: Option<&str>) -> Result<(Input, Meter), ImportError> {
    let read = Arc::new(std::sync::atomic::AtomicU64::new(0));
    if shards::names_parquet(path) {
        let input = Input::open(path, split)?;
        #[cfg(feature = "parquet")]
        let total = match &input {
            Input::Parquet(shards) => Some(parquet_input::total_rows(shards)?),
            Input::Stream(_) => None,
        };
        #[cfg(not(feature = "parquet"))]
        let total = None;
        let unit = MeterUnit::Rows;
        return Ok((input, Meter { read, unit, total }));
    }
    if split.is_some() {
        Input::open(path, split)?;
    }
    let total = (path != "-")
        .then(|| {
            std::fs::metadata(path)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len())
        })
        .flatten();
    let raw: Box<dyn Read + Send> = if path == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|cause| ImportError::Io {
            file: path.to_string(),
            cause,
        })?)
    };
    let counted = Box::new(Counting {
        inner: raw,
        read: read.clone(),
    });
    let input = Input::Stream(decompressing(path, counted)?);
    Ok((
        input,
        Meter {
            read,
            unit: MeterUnit::Bytes,
            total,
        },
    ))
}

/// Hands every record of `input` to `f` as the JSON object a JSONL line would be: JSON lines,
/// CSV columns named like its keys (`csv`), or Parquet rows.
fn for_each_object<'a>(
    input: Input,
    csv: bool,
    v: &mut Validator<'a>,
    f: impl FnMut(
        &mut Validator<'a>,
        u64,
        serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    match input {
        Input::Stream(s) if csv => csv_input::for_each_object(s, v, f),
        Input::Stream(s) => jsonl::for_each_object(s, v, f),
        #[cfg(feature = "parquet")]
        Input::Parquet(shards) => parquet_input::for_each_object(&shards, v, f),
        #[cfg(not(feature = "parquet"))]
        Input::Parquet(_) => Err(ImportError::Unreadable {
            file: v.file.clone(),
            message: "this build of overlap reads no Parquet".into(),
        }),
    }
}

/// Opens a file (or `-` for stdin) for reading, decompressing gzip when the bytes say so.
pub fn open_input(path: &str) -> Result<Box<dyn BufRead + Send>, ImportError> {
    let raw: Box<dyn Read + Send> = if path == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|cause| ImportError::Io {
            file: path.to_string(),
            cause,
        })?)
    };
    decompressing(path, raw)
}

/// `raw` buffered, with gzip undone when its first bytes say so.
fn decompressing(
    path: &str,
    raw: Box<dyn Read + Send>,
) -> Result<Box<dyn BufRead + Send>, ImportError> {
    let mut reader = BufReader::with_capacity(1 << 20, raw);
    let head = reader.fill_buf().map_err(|cause| ImportError::Io {
        file: path.to_string(),
        cause,
    })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let gz = flate2::read::MultiGzDecoder::new(reader);
        Ok(Box::new(BufReader::with_capacity(1 << 20, gz)))
    } else {
        Ok(Box::new(reader))
    }
}

/// Infers the input format from the file name (ignoring a trailing `.gz`).
pub fn infer_format(path: &str) -> Option<InputFormat> {
    let name = path.strip_suffix(".gz").unwrap_or(path);
    let ext = Path::new(name).extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "jsonl" | "ndjson" | "json" => Some(InputFormat::Jsonl),
        "csv" => Some(InputFormat::Csv),
        _ => None,
    }
}

/// The schema index of an input feature that the selection drops.
const DROPPED: usize = usize::MAX;

/// For each input position its index in the schema (or [`DROPPED`]), or `None` when the layout is
/// invalid.
type Layout = Option<Arc<[usize]>>;

/// Validates records against the schema and the registry, and accumulates what the version needs.
pub(crate) struct Validator<'a> {
    pub file: String,
    pub problems: Problems,
    /// Things worth saying that do not stop the import (each once).
    pub warnings: Vec<String>,
    interventions: &'a HashMap<String, InterventionState>,
    /// The schema's features once known (from the previous version or the first record).
    features: Option<Vec<String>>,
    frozen: Option<FeatureSchema>,
    drop_ties: bool,
    pub dropped_ties: u64,
    ids: FxHashMap<String, u64>,
    /// The last feature layout seen and its mapping to schema order.
    layout: Option<(Arc<[String]>, Layout)>,
    layout_reported: Option<u64>,
    sum_sq: Vec<f64>,
    /// max |Δφ_j| over accepted rows: with the scales, bounds every standardized value.
    max_abs: Vec<f64>,
    pub rows: u64,
    hasher: ContentHasher,
    feature_map: Option<String>,
    selection: Option<FeatureSelection>,
    /// Whether the selection was checked against the input's features (once, at the first layout).
    selection_checked: bool,
    pub(crate) id_from: Option<IdSource>,
    pub(crate) max_errors: Option<u64>,
    /// `--skip-invalid`: where the problems of records go instead of `problems`.
    rejects: Option<rejects::Rejects>,
    /// Set by the readers once they read records (a header's problems are the file's).
    pub(crate) in_records: bool,
    /// Text pairs accepted so far, and how many of them were conversational.
    pub(crate) pairs: u64,
    pub(crate) conversational_pairs: u64,
}

impl<'a> Validator<'a> {
    pub(crate) fn new(
        file: &str,
        interventions: &'a HashMap<String, InterventionState>,
        frozen: Option<FeatureSchema>,
        drop_ties: bool,
    ) -> Self {
        Validator {
            file: file.to_string(),
            problems: Problems::default(),
            warnings: Vec::new(),
            interventions,
            features: frozen.as_ref().map(|s| s.features.clone()),
            frozen,
            drop_ties,
            dropped_ties: 0,
            ids: FxHashMap::default(),
            layout: None,
            layout_reported: None,
            sum_sq: Vec::new(),
            max_abs: Vec::new(),
            rows: 0,
            hasher: ContentHasher::new(),
            feature_map: None,
            selection: None,
            selection_checked: false,
            id_from: None,
            max_errors: None,
            rejects: None,
            in_records: false,
            pairs: 0,
            conversational_pairs: 0,
        }
    }

    /// Whether the record on `line` was rejected (`--skip-invalid`): it is left out.
    pub(crate) fn rejected(&self, line: u64) -> bool {
        self.rejects.as_ref().is_some_and(|r| r.has(line))
    }

    /// Whether the readers should stop: `--max-errors` problems were found (noted in them).
    pub(crate) fn should_stop(&mut self) -> bool {
        if let (Some(limit), Some(r)) = (self.max_errors, &self.rejects) {
            if r.count() > limit {
                self.problem(
                    0,
                    Some("--max-errors"),
                    format!("more than {limit} records rejected: stopped reading"),
                );
                return true;
            }
            return false;
        }
        match self.max_errors {
            Some(limit) if self.problems.total >= limit => {
                self.problems.stopped_at = Some(limit);
                true
            }
            _ => false,
        }
    }

    /// The field that holds a record's id: `id`, or the one `--id-from FIELD` names.
    pub(crate) fn id_field(&self) -> &str {
        match &self.id_from {
            Some(IdSource::Field(f)) => f,
            _ => "id",
        }
    }

    /// Takes `id` for the record on `line`; a second use is a problem naming the first line.
    fn claim_id(&mut self, line: u64, id: &str) -> bool {
        if let Some(&first) = self.ids.get(id) {
            let what = if self.id_from == Some(IdSource::Content) {
                "the same content as"
            } else {
                "first seen on"
            };
            self.problem(
                line,
                Some("id"),
                format!("duplicate id '{id}' ({what} line {first})"),
            );
            false
        } else {
            self.ids.insert(id.to_string(), line);
            true
        }
    }

    /// Keeps only the selected features of the input (see [`FeatureSelection`]).
    pub(crate) fn select_features(&mut self, selection: Option<FeatureSelection>) {
        self.selection = selection;
    }

    fn keeps(&self, name: &str) -> bool {
        self.selection.as_ref().is_none_or(|s| s.keeps(name))
    }

    /// Checks the selection against the input's features once: every name it gives must be one
    /// of them, and it must keep at least one.
    fn check_selection(&mut self, names: &[String]) {
        if self.selection_checked {
            return;
        }
        self.selection_checked = true;
        let Some(selection) = self.selection.clone() else {
            return;
        };
        let flag = selection.flag();
        let available = names.join(", ");
        for name in selection.names() {
            if !names.contains(name) {
                self.problem(
                    0,
                    Some(flag),
                    format!("unknown feature '{name}' (the input's features: {available})"),
                );
            }
        }
        if !names.iter().any(|n| selection.keeps(n)) {
            self.problem(
                0,
                Some(flag),
                format!("no feature is left to import (the input's features: {available})"),
            );
        }
    }

    pub(crate) fn problem(&mut self, line: u64, field: Option<&str>, message: impl Into<String>) {
        if let Some(r) = &mut self.rejects {
            if self.in_records && line > 0 {
                r.add(&self.file, line, field.map(str::to_string), message.into());
                return;
            }
        }
        self.problems.push(Problem {
            file: self.file.clone(),
            line,
            field: field.map(str::to_string),
            message: message.into(),
        });
    }

    pub(crate) fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }

    pub(crate) fn set_feature_map(&mut self, map: &str) {
        self.feature_map = Some(map.to_string());
    }

    /// Sets the schema's features from the first record when no earlier version fixed them.
    /// The selection applies: the schema is the selected names, in the input's order.
    pub(crate) fn declare_features(&mut self, names: &[String]) {
        if self.features.is_none() {
            let kept: Vec<String> = names.iter().filter(|n| self.keeps(n)).cloned().collect();
            if kept.len() > MAX_FEATURES {
                self.problem(
                    0,
                    None,
                    format!(
                        "{} features: a schema has at most {MAX_FEATURES} (the analysis is quadratic in memory and cubic in time in their number); keep the ones to govern with --features or --exclude-features",
                        kept.len()
                    ),
                );
            }
            self.sum_sq = vec![0.0; kept.len()];
            self.features = Some(kept);
        }
    }

    /// Maps values given in the order of `names` to schema order. The mapping is computed (and every
    /// naming problem reported) once per distinct layout, then reused for rows that share it.
    fn order_values(
        &mut self,
        line: u64,
        field: &str,
        names: &Arc<[String]>,
        values: Vec<f64>,
    ) -> Option<Vec<f64>> {
        let known = matches!(&self.layout, Some((k, _)) if Arc::ptr_eq(k, names) || **k == **names);
        if !known {
            let perm = self.layout_permutation(line, field, names).map(Arc::from);
            self.layout = Some((names.clone(), perm));
        }
        let perm = self.layout.as_ref().and_then(|(_, p)| p.clone());
        let Some(perm) = perm else {
            // The layout's problems were reported when it was first seen; report per row too so
            // that the count of affected lines is right.
            if self.layout_reported != Some(line) {
                self.problem(
                    line,
                    Some(field),
                    "the features do not match the schema (see above)",
                );
            }
            return None;
        };
        if values.len() != perm.len() {
            self.problem(line, Some(field), format!("expected {} values", perm.len()));
            return None;
        }
        let mut ok = true;
        for (i, (v, &target)) in values.iter().zip(perm.iter()).enumerate() {
            // A feature the selection drops is not in the schema: its value is not checked.
            if target != DROPPED && !v.is_finite() {
                let name = names.get(i).map_or("?", String::as_str);
                self.problem(
                    line,
                    Some(&format!("{field}.{name}")),
                    "expected a finite number",
                );
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        let width = self.features.as_ref().map_or(0, Vec::len);
        // The common case: the input lists features in schema order, so the values are kept as
        // they are (no copy); otherwise they are scattered into schema order.
        if perm.len() == width && perm.iter().enumerate().all(|(i, &t)| i == t) {
            return Some(values);
        }
        let mut out = vec![0.0; width];
        for (v, &target) in values.iter().zip(perm.iter()) {
            if let Some(slot) = out.get_mut(target) {
                *slot = *v;
            }
        }
        Some(out)
    }

    /// For each input position, its index in the schema; `None` (with problems reported) when the
    /// names are not exactly the schema's features.
    fn layout_permutation(
        &mut self,
        line: u64,
        field: &str,
        names: &[String],
    ) -> Option<Vec<usize>> {
        self.check_selection(names);
        let features = self.features.clone()?;
        let mut perm = Vec::with_capacity(names.len());
        let mut seen = vec![false; features.len()];
        let mut ok = true;
        for name in names {
            if !self.keeps(name) {
                perm.push(DROPPED);
                continue;
            }
            match features.iter().position(|f| f == name) {
                Some(i) if seen[i] => {
                    self.problem(
                        line,
                        Some(&format!("{field}.{name}")),
                        "feature given twice",
                    );
                    ok = false;
                }
                Some(i) => {
                    seen[i] = true;
                    perm.push(i);
                }
                None => {
                    self.problem(
                        line,
                        Some(&format!("{field}.{name}")),
                        format!(
                            "feature '{name}' is not in the dataset's schema (expected: {})",
                            features.join(", ")
                        ),
                    );
                    ok = false;
                }
            }
        }
        let missing: Vec<&str> = features
            .iter()
            .zip(&seen)
            .filter(|(_, s)| !**s)
            .map(|(n, _)| n.as_str())
            .collect();
        if !missing.is_empty() {
            self.problem(
                line,
                Some(field),
                format!("missing feature(s): {}", missing.join(", ")),
            );
            ok = false;
        }
        if !ok {
            self.layout_reported = Some(line);
        }
        ok.then_some(perm)
    }

    fn check_intervention(&mut self, line: u64, field: &str, name: &Option<String>) -> bool {
        let Some(name) = name else { return true };
        match self.interventions.get(name) {
            Some(InterventionState::Active) => true,
            Some(InterventionState::Retired) => {
                self.problem(
                    line,
                    Some(field),
                    format!("intervention '{name}' is retired and cannot be used by new imports"),
                );
                false
            }
            None => {
                self.problem(
                    line,
                    Some(field),
                    format!(
                        "unknown intervention '{name}': register it with `overlap intervention add {name} …`"
                    ),
                );
                false
            }
        }
    }

    /// Validates one parsed record; returns the comparison when it is valid and not a dropped tie.
    pub(crate) fn check(&mut self, line: u64, raw: RawRecord) -> Option<Comparison> {
        let mut ok = true;
        let id = match (&self.id_from, raw.id) {
            (Some(IdSource::Line), _) => format!("line-{line}"),
            // Set from the content once the comparison is built.
            (Some(IdSource::Content), _) => String::new(),
            (_, Some(id)) if !id.is_empty() => id,
            (source, _) => {
                let field = self.id_field().to_string();
                let hint = if source.is_none() {
                    " (or pass --id-from line|content|FIELD)"
                } else {
                    ""
                };
                self.problem(
                    line,
                    Some(&field),
                    format!("expected a non-empty string id{hint}"),
                );
                return None;
            }
        };
        // Identifiers are printed in tables, CI logs and reports: a control character (ESC, BEL,
        // a line break) or a bidirectional override could rewrite what a reviewer sees.
        for (field, value) in [
            ("id", Some(id.as_str())),
            ("bucket", raw.bucket.as_deref()),
            ("group", raw.group.as_deref()),
            ("prompt_id", raw.prompt_id.as_deref()),
            ("labeler", raw.labeler.as_deref()),
        ] {
            if let Some(c) = value.and_then(|v| v.chars().find(|&c| crate::escape::is_hidden(c))) {
                self.problem(
                    line,
                    Some(field),
                    format!(
                        "contains the control character U+{:04X}: identifiers must be printable text",
                        c as u32
                    ),
                );
                ok = false;
            }
        }
        if self.id_from != Some(IdSource::Content) {
            ok &= self.claim_id(line, &id);
        }
        let label = match raw.label {
            record::RawLabel::One => Some(1u8),
            record::RawLabel::Zero => Some(0u8),
            record::RawLabel::Tie if self.drop_ties => {
                self.dropped_ties += 1;
                return None;
            }
            record::RawLabel::Tie => {
                self.problem(
                    line,
                    Some("label"),
                    "a tie is not Bradley–Terry data: pass --drop-ties to drop (and count) ties",
                );
                None
            }
            record::RawLabel::Missing => {
                self.problem(
                    line,
                    Some("label"),
                    "missing: expected 1 (a preferred) or 0 (b preferred)",
                );
                None
            }
            record::RawLabel::Invalid(v) => {
                self.problem(
                    line,
                    Some("label"),
                    format!("expected 1 (a preferred) or 0 (b preferred), found {v}"),
                );
                None
            }
        };
        ok &= label.is_some();
        ok &= self.check_intervention(line, "a.intervention", &raw.a_intervention);
        ok &= self.check_intervention(line, "b.intervention", &raw.b_intervention);
        let values = match raw.features {
            RawFeatures::Sides {
                names,
                fields: [field_a, field_b],
                a,
                b,
            } => {
                if self.features.is_none() {
                    self.declare_features(&names);
                }
                let a = self.order_values(line, field_a, &names, a);
                let b = self.order_values(line, field_b, &names, b);
                match (a, b) {
                    (Some(a), Some(b)) => self
                        .check_differences(line, &a, &b)
                        .then_some(FeatureValues::Sides { a, b }),
                    _ => None,
                }
            }
            RawFeatures::Delta { names, values } => {
                if self.features.is_none() {
                    self.declare_features(&names);
                }
                self.order_values(line, "delta", &names, values)
                    .map(FeatureValues::Delta)
            }
            RawFeatures::Missing => {
                self.problem(
                    line,
                    None,
                    "expected per-side features (a.features and b.features) or delta",
                );
                None
            }
            RawFeatures::Invalid => None,
        };
        let values = values?;
        if !ok {
            return None;
        }
        let label = label?;
        // Canonical form: an empty optional string means "absent", as an empty CSV cell does, so
        // the same content has the same digest whichever format carried it.
        let present = |s: Option<String>| s.filter(|s| !s.is_empty());
        let c = Comparison {
            id,
            bucket: raw.bucket.unwrap_or_else(|| "default".to_string()),
            group: present(raw.group),
            prompt_id: present(raw.prompt_id),
            label,
            labeler: present(raw.labeler),
            a_intervention: raw.a_intervention,
            b_intervention: raw.b_intervention,
            values,
            prompt: present(raw.prompt),
            a_text: present(raw.a_text),
            b_text: present(raw.b_text),
        };
        if self.id_from == Some(IdSource::Content) {
            let mut c = c;
            c.id = format!("sha256:{}", hex(&row_fingerprint(&c)[..12]));
            return self.claim_id(line, &c.id.clone()).then_some(c);
        }
        Some(c)
    }

    /// Accounts for an accepted row in the digest and the RMS scales.
    pub(crate) fn accept(&mut self, c: &Comparison, scratch: &mut Vec<f64>) {
        self.hasher.add_row(c);
        c.values.delta_into(scratch);
        if self.sum_sq.len() == scratch.len() {
            for (s, v) in self.sum_sq.iter_mut().zip(scratch.iter()) {
                *s += v * v;
            }
        }
        if self.max_abs.len() != scratch.len() {
            self.max_abs = vec![0.0; scratch.len()];
        }
        for (m, v) in self.max_abs.iter_mut().zip(scratch.iter()) {
            *m = m.max(v.abs());
        }
        self.rows += 1;
    }

    /// Per-side values can each be finite while their difference overflows; such a row could
    /// never be analysed, so it is refused here rather than stored forever.
    fn check_differences(&mut self, line: u64, a: &[f64], b: &[f64]) -> bool {
        let mut ok = true;
        for (j, (x, y)) in a.iter().zip(b).enumerate() {
            if !(x - y).is_finite() {
                let name = self
                    .features
                    .as_ref()
                    .and_then(|f| f.get(j))
                    .map_or("?", String::as_str)
                    .to_owned();
                self.problem(
                    line,
                    Some(&format!("a.{name}")),
                    format!("a − b overflows ({x:e} − {y:e} is not a finite number)"),
                );
                ok = false;
            }
        }
        ok
    }

    /// The analysis sums squares of Δφ_j / s_j over every row: refuses scales and values whose
    /// standardized squares would overflow that sum, so every stored version can be analysed.
    fn check_standardized_range(&mut self, schema: &FeatureSchema) {
        let rows = self.rows.max(1) as f64;
        let max_abs = std::mem::take(&mut self.max_abs);
        for ((f, s), m) in schema.features.iter().zip(&schema.scales).zip(&max_abs) {
            let z = m / s;
            if !(z * z * rows).is_finite() {
                self.problem(
                    0,
                    Some(f),
                    format!(
                        "|Δφ| reaches {m:e} and its scale is {s:e}: standardized values this large overflow the analysis (choose other --scales or rescale the feature)"
                    ),
                );
            }
        }
    }

    /// Builds the schema and digest once every row is read.
    fn finish(mut self, scales: &Option<ScaleChoice>) -> Result<(Finished, u64), Problems> {
        let (rejected, rejects_sha256) = match self.rejects.take() {
            Some(r) => match r.finish(&self.file) {
                Ok(done) => done,
                Err(e) => {
                    self.problem(
                        0,
                        Some("--rejects"),
                        format!("cannot write the rejects file: {e}"),
                    );
                    (0, None)
                }
            },
            None => (0, None),
        };
        if self.rows == 0 && self.problems.is_empty() {
            let message = if rejected > 0 {
                format!("every record was rejected ({rejected}): nothing to import")
            } else if self.dropped_ties > 0 {
                format!(
                    "every record was a tie ({} dropped): nothing to import",
                    self.dropped_ties
                )
            } else {
                "the input holds no records".to_string()
            };
            self.problem(0, None, message);
        }
        let features = self.features.clone().unwrap_or_default();
        let frozen = self.frozen.clone();
        let schema = match (&frozen, scales) {
            (Some(frozen), None) => frozen.clone(),
            (Some(frozen), Some(_)) => {
                self.problem(
                    0,
                    Some("--scales"),
                    format!(
                        "scales are frozen at version 1 of this dataset ({}); drop --scales",
                        describe_scales(frozen)
                    ),
                );
                frozen.clone()
            }
            (None, choice) => {
                let (scales, source) = match choice {
                    None | Some(ScaleChoice::Rms) => (
                        self.sum_sq
                            .iter()
                            .map(|s| {
                                let rms = (s / self.rows.max(1) as f64).sqrt();
                                // A feature that never varies keeps scale 1 (reported, not an error).
                                if rms > 0.0 && rms.is_finite() {
                                    rms
                                } else {
                                    1.0
                                }
                            })
                            .collect(),
                        ScaleSource::Rms,
                    ),
                    Some(ScaleChoice::Unit) => (vec![1.0; features.len()], ScaleSource::Unit),
                    Some(ScaleChoice::Explicit(map)) => {
                        let mut out = Vec::with_capacity(features.len());
                        for f in &features {
                            match map.get(f) {
                                // A subnormal scale is positive but dividing by it overflows.
                                Some(s) if s.is_normal() && *s > 0.0 => out.push(*s),
                                Some(s) => {
                                    self.problem(
                                        0,
                                        Some("--scales"),
                                        format!(
                                            "scale of '{f}' must be a positive (normal) number, found {s:e}"
                                        ),
                                    );
                                    out.push(1.0);
                                }
                                None => {
                                    self.problem(
                                        0,
                                        Some("--scales"),
                                        format!("no scale given for feature '{f}'"),
                                    );
                                    out.push(1.0);
                                }
                            }
                        }
                        for k in map.keys() {
                            if !features.contains(k) {
                                self.problem(
                                    0,
                                    Some("--scales"),
                                    format!(
                                        "scale given for '{k}', which is not a feature of the input"
                                    ),
                                );
                            }
                        }
                        (out, ScaleSource::File)
                    }
                };
                FeatureSchema {
                    features,
                    scales,
                    scale_source: source,
                    feature_map: self.feature_map.clone(),
                }
            }
        };
        self.check_standardized_range(&schema);
        if !self.problems.is_empty() {
            return Err(self.problems);
        }
        let digest = self.hasher.clone().finish(&schema);
        Ok((
            Finished {
                schema,
                digest,
                dropped_ties: self.dropped_ties,
                rejected,
                rejects_sha256,
                text_layout: match (self.pairs, self.conversational_pairs) {
                    (0, _) => None,
                    (all, conversational) if all == conversational => Some("conversational"),
                    _ => Some("standard"),
                },
            },
            self.rows,
        ))
    }
}

fn describe_scales(schema: &FeatureSchema) -> String {
    schema
        .features
        .iter()
        .zip(&schema.scales)
        .map(|(f, s)| format!("{f}={s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The longest line an import reads (64 MiB): far above any real record, low enough to bound
/// memory.
pub(crate) const MAX_LINE_BYTES: u64 = 64 << 20;

/// The most features a schema may have.
pub const MAX_FEATURES: usize = 1024;

/// Imports `input` as the next version of dataset `name`.
#[allow(clippy::too_many_arguments)]
pub fn import(
    store: &mut Store,
    name: &str,
    file_label: &str,
    input: Input,
    opts: &ImportOptions,
    interventions: &HashMap<String, InterventionState>,
    meta: &NewVersion<'_>,
    rejects: Option<Box<dyn std::io::Write + Send>>,
    progress: &dyn Fn(Progress),
) -> Result<ImportReport, ImportError> {
    let mut rows = 0u64;
    let mut rejected = 0u64;
    let mut dropped = 0u64;
    let mut warnings = Vec::new();
    let outcome = store.import_version(
        name,
        meta,
        |sink, latest: Option<&VersionInfo>| {
            let frozen = latest.map(|l| l.schema.clone());
            // Two stages on two threads: parsing and validation here, SQLite writes on the calling
            // thread, joined by a bounded channel of row batches (memory stays flat). Row order is
            // kept, so the digest and the stored order are those of the file.
            std::thread::scope(|scope| {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Comparison>>(PIPELINE_DEPTH);
                let parser = scope.spawn(move || {
                    let mut v = Validator::new(file_label, interventions, frozen, opts.drop_ties);
                    v.select_features(opts.selection.clone());
                    v.id_from = opts.id_from.clone();
                    v.max_errors = opts.max_errors;
                    v.rejects = rejects.map(rejects::Rejects::new);
                    let result = parse_into(&mut v, input, opts, &tx);
                    drop(tx);
                    (v, result)
                });
                let mut written = 0u64;
                let mut write_error = None;
                for batch in rx.iter() {
                    for c in &batch {
                        if let Err(e) = sink.push(c) {
                            write_error = Some(e);
                            break;
                        }
                    }
                    if write_error.is_some() {
                        // Dropping the receiver makes the parser's next send fail, which stops it.
                        break;
                    }
                    written += batch.len() as u64;
                    progress(Progress::Rows(written));
                }
                drop(rx);
                let (mut v, parsed) = parser.join().map_err(|_| {
                    ImportError::Invalid(Problems::single(file_label, "the parser thread panicked"))
                })?;
                if let Some(e) = write_error {
                    return Err(ImportError::Storage(e));
                }
                parsed?;
                progress(Progress::Phase("checking the version (scales, digest)"));
                if let Some(latest) = latest {
                    check_schema_match(&mut v, &latest.schema);
                }
                warnings = std::mem::take(&mut v.warnings);
                let (finished, n) = v.finish(&opts.scales).map_err(ImportError::Invalid)?;
                rows = n;
                dropped = finished.dropped_ties;
                rejected = finished.rejected;
                Ok(finished)
            })
        },
        &|name| progress(Progress::Phase(name)),
    );
    match outcome {
        Ok(outcome) => Ok(ImportReport {
            outcome,
            rows,
            dropped_ties: dropped,
            rejected,
            warnings,
        }),
        Err(ImportFailure::Input(e)) => Err(e),
        Err(ImportFailure::Storage(e)) => Err(ImportError::Storage(e)),
    }
}

/// What an import reports while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Rows written so far.
    Rows(u64),
    /// A step after the rows were read, by name.
    Phase(&'static str),
}

/// Rows per batch handed from the parser to the writer, and batches in flight.
const BATCH_ROWS: usize = 2048;
const PIPELINE_DEPTH: usize = 8;

/// Parses and validates the whole input, sending valid rows in batches while no problem has been
/// seen (after the first problem, rows are only validated: the import will roll back anyway).
fn parse_into(
    v: &mut Validator<'_>,
    input: Input,
    opts: &ImportOptions,
    tx: &std::sync::mpsc::SyncSender<Vec<Comparison>>,
) -> Result<(), ImportError> {
    let mut scratch = Vec::new();
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    let stopped = || ImportError::Invalid(Problems::default());
    let mut emit = |v: &mut Validator<'_>, line: u64, raw: RawRecord| -> Result<(), ImportError> {
        if let Some(c) = v.check(line, raw).filter(|_| !v.rejected(line)) {
            v.accept(&c, &mut scratch);
            if v.problems.is_empty() {
                batch.push(c);
                if batch.len() == BATCH_ROWS {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
                    tx.send(full).map_err(|_| stopped())?;
                }
            }
        }
        Ok(())
    };
    match opts.format {
        InputFormat::Jsonl => jsonl::read(input, v, &mut emit)?,
        InputFormat::Csv => match input {
            Input::Stream(s) => csv_input::read(s, v, &mut emit)?,
            Input::Parquet(_) => v.problem(
                0,
                None,
                "Parquet rows are records or text pairs, not CSV: pass --input jsonl or --input pairs",
            ),
        },
        InputFormat::Pairs => {
            let fields = pairs::PairFields {
                options: crate::textmap::PairOptions {
                    bucket_field: Some(
                        opts.bucket_field.clone().unwrap_or_else(|| "bucket".into()),
                    ),
                    group_field: Some(opts.group_field.clone().unwrap_or_else(|| "group".into())),
                },
                bucket_named: opts.bucket_field.is_some(),
                group_named: opts.group_field.is_some(),
            };
            pairs::read(input, &fields, opts.feature_map, v, &mut emit)?
        }
    }
    if !batch.is_empty() && v.problems.is_empty() {
        tx.send(batch).map_err(|_| stopped())?;
    }
    Ok(())
}

fn check_schema_match(v: &mut Validator<'_>, schema: &FeatureSchema) {
    // Per-record checks already name missing and unknown features; this adds the summary line that
    // lists the differences once when the feature map itself differs.
    if v.feature_map != schema.feature_map {
        let describe = |m: &Option<String>| {
            m.as_ref()
                .map_or("explicit feature values".to_string(), |m| {
                    format!("feature map '{m}'")
                })
        };
        let msg = format!(
            "this dataset's features come from {}, the input uses {}",
            describe(&schema.feature_map),
            describe(&v.feature_map)
        );
        v.problem(0, None, msg);
    }
}
