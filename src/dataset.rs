//! `overlap dataset …`: import, list, show, diff and export immutable dataset versions.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};

use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Subcommand, ValueEnum};
use serde::Serialize;

use super::output::{Format, ImportBar, num, print_json, table};
use super::{Context, Outcome};
use overlap::app::dataset::{CountRow, ImportRequest, diff, summarize};
use overlap::app::{self, AppError};
use overlap::escape;
use overlap::ingest::{
    self, FeatureSelection, ImportError, ImportOptions, InputFormat, ScaleChoice,
};
use overlap::model::VersionInfo;
use overlap::model::{DatasetRef, Name};
use overlap::storage::{ImportOutcome, Store};
use overlap::textmap::FeatureMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputArg {
    Jsonl,
    Csv,
    /// Text pairs computed into features by a built-in feature map.
    Pairs,
}

/// `dataset diff --by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffByArg {
    Id,
    Content,
}

// Parsed once per process: the size of the import variant costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum DatasetCommand {
    /// Import FILE (JSONL, CSV or text pairs; .gz read transparently; - for stdin; Parquet: a
    /// file, a folder of shards or a glob) as the next version of NAME.
    #[command(after_help = "Examples:\n  \
        overlap dataset import hh tests/data/hh-rlhf/hh-rlhf-harmless-test.jsonl.gz\n  \
        overlap dataset import uf ~/datasets/ultrafeedback_binarized/data --split train_prefs --bucket-field source\n  \
        overlap dataset import pandalm pandalm.jsonl --skip-invalid --rejects pandalm.rejects.jsonl")]
    Import {
        /// The dataset: the import becomes its next version (created at version 1).
        name: String,
        /// The file to read (`-` for standard input; a folder or glob of Parquet shards).
        file: String,
        /// Input format; inferred from the extension when absent.
        #[arg(long, value_enum)]
        input: Option<InputArg>,
        /// `unit` (every scale 1) or a JSON file {"feature": scale}; default: RMS of Δφ (first
        /// version only; later versions keep the first version's scales).
        #[arg(long)]
        scales: Option<String>,
        /// Drop (and count) ties instead of rejecting them.
        #[arg(long)]
        drop_ties: bool,
        /// A note kept with the version (e.g. where the data came from).
        #[arg(long)]
        note: Option<String>,
        /// Text pairs: the built-in feature map, `text-v2` (the default) or `text-v1` (see
        /// docs/features.md).
        #[arg(long, alias = "map", value_name = "MAP")]
        feature_map: Option<String>,
        /// Keep only these features (comma-separated; the schema keeps the input's order). Chosen at
        /// version 1: later versions must end up with the same features.
        #[arg(
            long,
            value_name = "NAME,…",
            value_delimiter = ',',
            conflicts_with = "exclude_features"
        )]
        features: Option<Vec<String>>,
        /// Drop these features (comma-separated) and keep every other one.
        #[arg(long, value_name = "NAME,…", value_delimiter = ',')]
        exclude_features: Option<Vec<String>>,
        /// Text pairs: the field holding the bucket.
        #[arg(long)]
        bucket_field: Option<String>,
        /// Text pairs: the field holding the group.
        #[arg(long)]
        group_field: Option<String>,
        /// Where ids come from: `line` (line-N), `content` (a hash of the record, the same in every
        /// version) or the name of another field; by default the `id` field.
        #[arg(long, value_name = "line|content|FIELD")]
        id_from: Option<String>,
        /// Parquet: the split to read from a folder or glob of shards that holds several
        /// (`data/<split>-00000-of-00002.parquet`), e.g. `train`.
        #[arg(long, value_name = "SPLIT")]
        split: Option<String>,
        /// Stop reading after N problems (a file that is wrong throughout fails fast; nothing is
        /// written either way).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        max_errors: Option<u64>,
        /// Import the valid records and leave out the ones with problems, listing each with its
        /// line and problems in the --rejects file (problems of the file as a whole still stop
        /// the import). With --max-errors, more than N rejected records stop it.
        #[arg(long, requires = "rejects")]
        skip_invalid: bool,
        /// With --skip-invalid: the new JSONL file listing the rejected records (its count and
        /// SHA-256 are recorded with the version).
        #[arg(long, value_name = "FILE", requires = "skip_invalid")]
        rejects: Option<PathBuf>,
        /// Output: `human` (text for people) or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// List datasets with their latest versions.
    List {
        /// Output: `human` (text for people) or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Show a version: counts per bucket and arm, label balance, features and scales, lineage.
    Show {
        /// NAME (the latest version) or NAME@V.
        dataset: String,
        /// Output: `human` (text for people) or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Compare two versions by comparison id (or by content, for datasets with other ids).
    Diff {
        /// The version compared against, NAME or NAME@V.
        from: String,
        /// The version whose additions, removals and changes are listed.
        to: String,
        /// `id`: the same id with other content is changed; `content`: match comparisons by
        /// their content alone (ids ignored), e.g. between two datasets holding the same pairs.
        #[arg(long, value_enum, default_value = "id")]
        by: DiffByArg,
        /// Output: `human` (text for people) or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Write a version as JSONL, CSV or Parquet; re-importing it reproduces the digest.
    #[command(after_help = "Examples:\n  \
        overlap dataset export hh@1 > hh.jsonl\n  \
        overlap dataset export hh --output gated.trl.parquet\n  \
        overlap dataset export demo@2 --bucket self-harm --output csv | head -3")]
    Export {
        /// NAME (the latest version) or NAME@V.
        dataset: String,
        /// `jsonl`, `csv` or `parquet` (comparison records, to stdout), `trl-jsonl` or
        /// `trl-parquet` (prompt/chosen/rejected for a DPO or reward trainer, to stdout), or a new
        /// file ending in .jsonl, .csv, .parquet, .trl.jsonl or .trl.parquet.
        #[arg(long, default_value = "jsonl")]
        output: String,
        /// Only this bucket's comparisons.
        #[arg(long)]
        bucket: Option<String>,
    },
    /// Check that a version's rows reproduce its digest and that the columnar data analyses read
    /// matches its rows (every version of NAME, or NAME@V); exit 1 naming the first mismatch.
    Verify {
        /// NAME (every version) or NAME@V.
        dataset: String,
        /// Output: `human` (text for people) or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

fn parse_ref(s: &str) -> Result<DatasetRef> {
    s.parse::<DatasetRef>()
        .with_context(|| format!("'{s}' is not a dataset reference (expected NAME or NAME@N)"))
}

fn read_scales(arg: &Option<String>) -> Result<Option<ScaleChoice>> {
    match arg.as_deref() {
        None => Ok(None),
        Some("unit") => Ok(Some(ScaleChoice::Unit)),
        Some("rms") => Ok(Some(ScaleChoice::Rms)),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --scales file {path}"))?;
            let map: BTreeMap<String, f64> = serde_json::from_str(&text).with_context(|| {
                format!("{path}: expected a JSON object {{\"feature\": positive number}}")
            })?;
            Ok(Some(ScaleChoice::Explicit(map)))
        }
    }
}

#[derive(Serialize)]
struct ImportJson<'a> {
    dataset: &'a str,
    version: u32,
    digest: &'a str,
    created: bool,
    rows: u64,
    dropped_ties: u64,
    rejected: u64,
}

fn show_ids(label: &str, ids: &[String]) {
    const SHOWN: usize = 10;
    if ids.is_empty() {
        return;
    }
    let head: Vec<&str> = ids.iter().take(SHOWN).map(String::as_str).collect();
    let more = if ids.len() > SHOWN {
        format!(" … and {} more", ids.len() - SHOWN)
    } else {
        String::new()
    };
    println!("  {label}: {}{more}", head.join(", "));
}

pub(crate) fn run(ctx: &Context, cmd: DatasetCommand) -> Result<Outcome> {
    match cmd {
        DatasetCommand::Import {
            name,
            file,
            input,
            scales,
            drop_ties,
            note,
            feature_map,
            features,
            exclude_features,
            bucket_field,
            group_field,
            id_from,
            max_errors,
            split,
            skip_invalid: _,
            rejects,
            format,
        } => {
            let name = Name::parse(&name).context("invalid dataset name")?;
            let format_in = match input {
                Some(InputArg::Jsonl) => InputFormat::Jsonl,
                Some(InputArg::Csv) => InputFormat::Csv,
                Some(InputArg::Pairs) => InputFormat::Pairs,
                None => match ingest::detect(&file, split.as_deref())? {
                    // Said when the first record overrules the file name (pairs in a .jsonl or
                    // .csv); records in the format their name says need no note.
                    Some(detected) if Some(detected.format) == ingest::infer_format(&file) => {
                        detected.format
                    }
                    Some(detected) => {
                        anstream::eprintln!(
                            "{}",
                            crate::color::diagnostic(&format!(
                                "note: {}: {} (told from {}; --input overrides)",
                                escape::terminal(&file),
                                detected.layout,
                                detected.evidence
                            ))
                        );
                        detected.format
                    }
                    None if ingest::names_parquet(&file) => bail!(
                        "cannot tell the layout of the Parquet rows in '{file}' from the first one: pass --input jsonl (comparison records) or --input pairs"
                    ),
                    None => ingest::infer_format(&file).ok_or_else(|| {
                        anyhow!("cannot tell the format of '{file}' from its name: pass --input jsonl|csv|pairs")
                    })?,
                },
            };
            let feature_map = match (&feature_map, format_in) {
                (None, _) => FeatureMap::default(),
                (Some(map), InputFormat::Pairs) => FeatureMap::from_name(map)?,
                (Some(_), _) => bail!(
                    "--feature-map applies to text pairs only: pass --input pairs, or drop --feature-map"
                ),
            };
            let opts = ImportOptions {
                format: format_in,
                scales: read_scales(&scales)?,
                drop_ties,
                feature_map,
                selection: match (features, exclude_features) {
                    (Some(keep), _) => Some(FeatureSelection::Keep(keep)),
                    (None, Some(drop)) => Some(FeatureSelection::Exclude(drop)),
                    (None, None) => None,
                },
                bucket_field,
                group_field,
                id_from: match id_from.as_deref() {
                    Some("") => bail!("--id-from takes line, content or a field name"),
                    other => other.map(ingest::IdSource::parse),
                },
                max_errors,
                split,
            };
            let mut session = ctx.session()?;
            let request = ImportRequest {
                name: &name,
                file: &file,
                options: &opts,
                note: note.as_deref(),
                rejects: rejects.as_deref(),
            };
            let bar = ImportBar::new(&file);
            let report = app::dataset::import(&mut session, &request, &|p| bar.update(p));
            bar.finish();
            let report = match report {
                Ok(r) => r,
                Err(AppError::Import(ImportError::Invalid(problems))) => {
                    return Err(crate::errors::RejectedImport(problems).into());
                }
                Err(e) => return Err(e.into()),
            };
            for w in &report.warnings {
                anstream::eprintln!(
                    "{}",
                    crate::color::diagnostic(&format!("warning: {}", escape::terminal(w)))
                );
            }
            let (info, created) = match &report.outcome {
                ImportOutcome::Created(i) => (i, true),
                ImportOutcome::Unchanged(i) => (i, false),
            };
            match format {
                Format::Json => print_json(&ImportJson {
                    dataset: &info.dataset,
                    version: info.version,
                    digest: &info.digest,
                    created,
                    rows: report.rows,
                    dropped_ties: report.dropped_ties,
                    rejected: report.rejected,
                })?,
                Format::Human => {
                    if created {
                        println!("{}@{} {}", info.dataset, info.version, info.digest);
                        print!("imported {} comparisons", report.rows);
                        if report.dropped_ties > 0 {
                            print!(" ({} ties dropped)", report.dropped_ties);
                        }
                        if let (true, Some(path)) = (report.rejected > 0, &rejects) {
                            print!(
                                "; {} records rejected, listed in {}",
                                report.rejected,
                                escape::terminal(&path.display().to_string())
                            );
                        }
                        println!();
                    } else {
                        println!(
                            "unchanged: the content is identical to {}@{} ({}); no version created",
                            info.dataset, info.version, info.digest
                        );
                    }
                }
            }
            Ok(Outcome::Success)
        }
        DatasetCommand::List { format } => {
            let store = ctx.open()?;
            let all = store.datasets()?;
            match format {
                Format::Json => print_json(&all)?,
                Format::Human => {
                    if all.is_empty() {
                        println!("no datasets: import one with `overlap dataset import NAME FILE`");
                    }
                    let rows: Vec<Vec<String>> = all
                        .iter()
                        .map(|d| {
                            vec![
                                d.name.clone(),
                                d.versions.to_string(),
                                d.latest.n.to_string(),
                                d.latest.schema.dim().to_string(),
                                d.latest.digest[..16].to_string(),
                                d.latest.created_at.clone(),
                            ]
                        })
                        .collect();
                    if !rows.is_empty() {
                        print!(
                            "{}",
                            table(
                                &[
                                    "name",
                                    "versions",
                                    "rows (latest)",
                                    "features",
                                    "digest",
                                    "created"
                                ],
                                &rows
                            )
                        );
                    }
                }
            }
            Ok(Outcome::Success)
        }
        DatasetCommand::Show { dataset, format } => {
            let store = ctx.open()?;
            let info = store.resolve(&parse_ref(&dataset)?)?;
            let s = summarize(&store, info)?;
            match format {
                Format::Json => print_json(&s)?,
                Format::Human => {
                    let i = &s.info;
                    println!("{}@{}", i.dataset, i.version);
                    println!("  digest:   {}", i.digest);
                    println!(
                        "  parent:   {}",
                        i.parent
                            .map_or("—".to_string(), |p| format!("{}@{p}", i.dataset))
                    );
                    println!(
                        "  rows:     {} (label balance {})",
                        i.n,
                        num(s.label_balance)
                    );
                    if i.dropped_ties > 0 {
                        println!("  dropped:  {} ties", i.dropped_ties);
                    }
                    if i.rejected > 0 {
                        println!(
                            "  rejected: {} records (--skip-invalid; rejects file sha256 {})",
                            i.rejected,
                            i.rejects_sha256.as_deref().unwrap_or("-")
                        );
                    }
                    println!("  created:  {} by {}", i.created_at, i.created_by);
                    if let Some(src) = &i.source {
                        println!("  source:   {src}");
                    }
                    if let Some(n) = &i.note {
                        println!("  note:     {n}");
                    }
                    if let Some(m) = &i.schema.feature_map {
                        println!("  features computed by map {m}");
                    }
                    println!("  features (scale, {:?}):", i.schema.scale_source);
                    for (f, sc) in i.schema.features.iter().zip(&i.schema.scales) {
                        let flag = if s.never_varies.contains(f) {
                            "  (never varies)"
                        } else {
                            ""
                        };
                        println!("    {f:<20} {}{flag}", num(*sc));
                    }
                    let rows = |r: &[CountRow]| -> Vec<Vec<String>> {
                        r.iter()
                            .map(|c| vec![c.name.clone(), c.n.to_string(), num(c.label_balance)])
                            .collect()
                    };
                    println!();
                    print!(
                        "{}",
                        table(&["bucket", "n", "label balance"], &rows(&s.buckets))
                    );
                    println!();
                    print!("{}", table(&["arm", "n", "label balance"], &rows(&s.arms)));
                }
            }
            Ok(Outcome::Success)
        }
        DatasetCommand::Diff {
            from,
            to,
            by,
            format,
        } => {
            let store = ctx.open()?;
            let a = store.resolve(&parse_ref(&from)?)?;
            let b = store.resolve(&parse_ref(&to)?)?;
            let by = match by {
                DiffByArg::Id => overlap::app::dataset::DiffBy::Id,
                DiffByArg::Content => overlap::app::dataset::DiffBy::Content,
            };
            let d = diff(&store, &a, &b, by)?;
            match format {
                Format::Json => print_json(&d)?,
                Format::Human => {
                    println!("{} → {}", d.from, d.to);
                    println!(
                        "  added {}, removed {}, changed {}, unchanged {}",
                        d.added.len(),
                        d.removed.len(),
                        d.changed.len(),
                        d.unchanged
                    );
                    show_ids("added", &d.added);
                    show_ids("removed", &d.removed);
                    show_ids("changed", &d.changed);
                    let rows: Vec<Vec<String>> = d
                        .buckets
                        .iter()
                        .map(|b| {
                            vec![
                                b.bucket.clone(),
                                b.from.to_string(),
                                b.to.to_string(),
                                format!("{:+}", b.change),
                            ]
                        })
                        .collect();
                    println!();
                    print!("{}", table(&["bucket", "from", "to", "change"], &rows));
                }
            }
            Ok(Outcome::Success)
        }
        DatasetCommand::Verify { dataset, format } => {
            let store = ctx.open()?;
            let checks = overlap::app::verify::verify_dataset(&store, &parse_ref(&dataset)?)?;
            match format {
                Format::Json => print_json(&checks)?,
                Format::Human => {
                    for c in &checks {
                        match &c.problem {
                            None => println!(
                                "{} intact: {} rows reproduce digest {}",
                                c.version, c.rows_checked, c.digest
                            ),
                            Some(p) => println!("{} BROKEN: {p}", c.version),
                        }
                    }
                }
            }
            Ok(if checks.iter().all(|c| c.intact()) {
                Outcome::Success
            } else {
                Outcome::Failure
            })
        }
        DatasetCommand::Export {
            dataset,
            output,
            bucket,
        } => {
            let store = ctx.open()?;
            let info = store.resolve(&parse_ref(&dataset)?)?;
            let (kind, path) = match output.as_str() {
                "jsonl" => (ExportKind::Jsonl, None),
                "csv" => (ExportKind::Csv, None),
                "trl-jsonl" => (ExportKind::Trl, None),
                "parquet" => (ExportKind::Parquet, None),
                "trl-parquet" => (ExportKind::TrlParquet, None),
                p if p.ends_with(".trl.jsonl") => (ExportKind::Trl, Some(p)),
                p if p.ends_with(".jsonl") => (ExportKind::Jsonl, Some(p)),
                p if p.ends_with(".csv") => (ExportKind::Csv, Some(p)),
                p if p.ends_with(".trl.parquet") => (ExportKind::TrlParquet, Some(p)),
                p if p.ends_with(".parquet") => (ExportKind::Parquet, Some(p)),
                p => bail!(
                    "--output takes jsonl, csv, trl-jsonl, parquet, trl-parquet, or a file path ending in .jsonl, .csv, .trl.jsonl, .parquet or .trl.parquet; found '{p}'"
                ),
            };
            let parquet = matches!(kind, ExportKind::Parquet | ExportKind::TrlParquet);
            if parquet && !cfg!(feature = "parquet") {
                bail!(
                    "this build of overlap writes no Parquet: build it with `--features parquet`, or export jsonl"
                );
            }
            if parquet && path.is_none() && std::io::stdout().is_terminal() {
                bail!("Parquet is binary: name a file (--output FILE.parquet) or redirect stdout");
            }
            let trl = matches!(kind, ExportKind::Trl | ExportKind::TrlParquet);
            if let Some(b) = &bucket {
                let buckets = store.version_buckets(&info)?;
                if !buckets.contains(b) {
                    bail!(
                        "{} has no bucket '{}' (its buckets: {})",
                        info.label(),
                        escape::terminal(b),
                        buckets.join(", ")
                    );
                }
            }
            if trl && !store.version_shape(&info)?.texts {
                bail!(
                    "{} holds no response texts (it was imported as feature records): a TRL export needs them",
                    info.label()
                );
            }
            let sink: Box<dyn Write + Send> = match path {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create_new(p).with_context(|| {
                        format!("cannot create {p} (an export never replaces a file)")
                    })?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout())),
            };
            let written = export(&store, &info, kind, bucket.as_deref(), sink);
            let written = match (written, path) {
                (Ok(n), _) => n,
                (Err(e), Some(p)) => {
                    // Best effort: a half-written export must not pass for a whole one.
                    let _ = std::fs::remove_file(p);
                    return Err(e);
                }
                (Err(e), None) => return Err(e),
            };
            if let Some(p) = path {
                eprintln!("wrote {written} rows of {} to {p}", info.label());
            }
            if bucket.is_some() || trl {
                return Ok(Outcome::Success);
            }
            if info.schema.scale_source != overlap::model::ScaleSource::Rms || info.version > 1 {
                eprintln!(
                    "note: to reproduce digest {} on re-import, pass --scales with these scales: {}",
                    info.digest,
                    serde_json::to_string(
                        &info
                            .schema
                            .features
                            .iter()
                            .zip(&info.schema.scales)
                            .map(|(f, s)| (f.clone(), *s))
                            .collect::<BTreeMap<_, _>>()
                    )?
                );
            }
            Ok(Outcome::Success)
        }
    }
}

/// Writes the comparisons of `info` as Parquet: comparison records, or TRL records (`trl`).
#[cfg(feature = "parquet")]
fn export_parquet(
    store: &Store,
    info: &VersionInfo,
    trl: bool,
    bucket: Option<&str>,
    sink: Box<dyn Write + Send>,
) -> Result<u64> {
    use overlap::ingest::export_parquet::{ParquetExporter, ParquetKind};
    let shape = store.version_shape(info)?;
    let kind = match (trl, shape.sides, shape.delta) {
        (true, _, _) if info.text_layout.as_deref() == Some("conversational") => {
            ParquetKind::TrlConversational
        }
        (true, _, _) => ParquetKind::Trl,
        (false, true, true) => bail!(
            "{} mixes per-side and delta records: export it as jsonl",
            info.label()
        ),
        (false, _, true) => ParquetKind::Delta,
        (false, _, false) => ParquetKind::Sides,
    };
    let mut out = ParquetExporter::new(sink, &info.schema, kind)?;
    let mut written = 0u64;
    store.for_each_comparison::<anyhow::Error>(info, |c| {
        if bucket.is_none_or(|b| c.bucket == b) {
            out.write(c)?;
            written += 1;
        }
        Ok(())
    })?;
    out.finish()?.flush()?;
    Ok(written)
}

#[cfg(not(feature = "parquet"))]
fn export_parquet(
    _: &Store,
    _: &VersionInfo,
    _: bool,
    _: Option<&str>,
    _: Box<dyn Write + Send>,
) -> Result<u64> {
    bail!("this build of overlap writes no Parquet")
}

/// What `dataset export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExportKind {
    /// Comparison records as JSON Lines (re-importable with the same digest).
    Jsonl,
    /// Comparison records as CSV.
    Csv,
    /// TRL preference records (prompt, chosen, rejected).
    Trl,
    /// Comparison records as Parquet (nested like the JSONL records).
    Parquet,
    /// TRL preference records as Parquet.
    TrlParquet,
}

/// Writes the comparisons of `info` (only `bucket`'s when given) as `kind`; returns the rows
/// written.
fn export(
    store: &Store,
    info: &VersionInfo,
    kind: ExportKind,
    bucket: Option<&str>,
    mut sink: Box<dyn Write + Send>,
) -> Result<u64> {
    let wanted = |c: &overlap::model::Comparison| bucket.is_none_or(|b| c.bucket == b);
    let mut written = 0u64;
    match kind {
        ExportKind::Jsonl | ExportKind::Trl => {
            store.for_each_comparison::<anyhow::Error>(info, |c| {
                if !wanted(&c) {
                    return Ok(());
                }
                let record = match kind {
                    ExportKind::Trl => ingest::export::trl_record(
                        &c,
                        info.text_layout.as_deref() == Some("conversational"),
                    )
                    .with_context(|| {
                        format!(
                            "comparison '{}' has no response texts: a TRL export needs them",
                            c.id
                        )
                    })?,
                    _ => ingest::export::jsonl_record(&info.schema, &c),
                };
                serde_json::to_writer(&mut sink, &record)?;
                sink.write_all(b"\n")?;
                written += 1;
                Ok(())
            })?;
            sink.flush()?;
        }
        ExportKind::Csv => {
            let shape = store.version_shape(info)?;
            if shape.sides && shape.delta {
                bail!(
                    "{} mixes per-side and delta records: export it as jsonl",
                    info.label()
                );
            }
            let mut csv =
                ingest::export::CsvExporter::new(sink, &info.schema, shape.delta, shape.texts)?;
            store.for_each_comparison::<anyhow::Error>(info, |c| {
                if wanted(&c) {
                    csv.write(&c)?;
                    written += 1;
                }
                Ok(())
            })?;
            csv.finish()?;
        }
        ExportKind::Parquet | ExportKind::TrlParquet => {
            written = export_parquet(store, info, kind == ExportKind::TrlParquet, bucket, sink)?;
        }
    }
    Ok(written)
}
