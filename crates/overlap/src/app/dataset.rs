//! Dataset use cases: importing a file as a new version, and what `dataset show` and `dataset diff`
//! report about stored versions (per-bucket and per-arm counts, and the comparisons one version
//! adds, removes and changes against another).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use std::io::Write;
use std::path::Path;

use super::staging::Staged;
use super::{AppError, Session, intervention_states};
use crate::ingest::{self, ImportOptions, ImportReport};
use crate::model::Name;
use crate::model::VersionInfo;
use crate::model::digest::row_fingerprint;
use crate::storage::{NewVersion, Store};

/// What to import (the library form of `overlap dataset import`).
#[derive(Debug)]
pub struct ImportRequest<'a> {
    pub name: &'a Name,
    /// A path, or `-` for standard input; recorded as the version's source.
    pub file: &'a str,
    pub options: &'a ImportOptions,
    pub note: Option<&'a str>,
    /// `--skip-invalid --rejects FILE`: records with problems are left out and listed in this new
    /// file (moved into place once the version is committed); `None` refuses any bad record.
    pub rejects: Option<&'a Path>,
}

/// Imports `req.file` as the next version of `req.name` in one transaction (or reports that the
/// content equals the latest version). Arms are checked against the registry as it stands;
/// `progress` is called with the rows read so far. Invalid input is
/// [`ImportError::Invalid`](crate::ingest::ImportError::Invalid) with every problem located, and
/// nothing is written.
pub fn import(
    session: &mut Session,
    req: &ImportRequest<'_>,
    progress: &dyn Fn(ImportProgress),
) -> Result<ImportReport, AppError> {
    let (store, stamp) = session.parts();
    let known = intervention_states(store)?;
    let (reader, meter) = ingest::open_metered(req.file, req.options.split.as_deref())?;
    let now = stamp.now();
    let meta = NewVersion {
        note: req.note,
        source: Some(req.file),
        actor: stamp.actor(),
        now: &now,
    };
    let staged = req.rejects.map(Staged::stream_new).transpose()?;
    let (staged, sink) = match staged {
        Some((staged, file)) => (
            Some(staged),
            Some(Box::new(SyncedFile(std::io::BufWriter::new(file))) as Box<dyn Write + Send>),
        ),
        None => (None, None),
    };
    let report = ingest::import(
        store,
        req.name.as_str(),
        req.file,
        reader,
        req.options,
        &known,
        &meta,
        sink,
        &|p| {
            progress(match p {
                ingest::Progress::Rows(rows) => ImportProgress::Reading {
                    rows,
                    done: meter.done(rows),
                    total: meter.total,
                    unit: meter.unit,
                },
                ingest::Progress::Phase(name) => ImportProgress::Phase(name),
            })
        },
    )?;
    if let Some(staged) = staged {
        staged.commit()?;
    }
    Ok(report)
}

/// How far an import has got, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportProgress {
    /// Reading: rows written so far, and `done` of `total` bytes (or rows, for Parquet; no total
    /// for standard input).
    Reading {
        rows: u64,
        done: u64,
        total: Option<u64>,
        unit: ingest::MeterUnit,
    },
    /// A step after reading, by name.
    Phase(&'static str),
}

/// A file that is synced to disk when flushed: the rejects file is complete before it is moved
/// into place.
struct SyncedFile(std::io::BufWriter<std::fs::File>);

impl Write for SyncedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()?;
        self.0.get_ref().sync_all()
    }
}

/// Per-version summary printed by `show`.
#[derive(Debug, Serialize)]
pub struct VersionSummary {
    #[serde(flatten)]
    pub info: VersionInfo,
    pub label_balance: f64,
    pub buckets: Vec<CountRow>,
    pub arms: Vec<CountRow>,
    pub never_varies: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct CountRow {
    pub name: String,
    pub n: u64,
    pub label_balance: f64,
}

/// Counts and label balance per bucket and arm, and the features that never vary.
pub fn summarize(store: &Store, info: VersionInfo) -> Result<VersionSummary, AppError> {
    let data = store.version_data(&info)?;
    let mut buckets = vec![(0u64, 0u64); data.buckets.len()];
    let mut arms = vec![(0u64, 0u64); data.arms.len()];
    for t in 0..data.len() {
        let l = u64::from(data.labels[t]);
        let b = &mut buckets[data.bucket[t] as usize];
        b.0 += 1;
        b.1 += l;
        let a = &mut arms[data.arm[t] as usize];
        a.0 += 1;
        a.1 += l;
    }
    let rows = |names: &[String], counts: &[(u64, u64)]| {
        let mut out: Vec<CountRow> = names
            .iter()
            .zip(counts)
            .map(|(name, (n, ones))| CountRow {
                name: name.clone(),
                n: *n,
                label_balance: *ones as f64 / (*n).max(1) as f64,
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    };
    let never_varies = (0..data.d)
        .filter(|&j| (0..data.len()).all(|t| data.delta[t * data.d + j] == 0.0))
        .map(|j| info.schema.features[j].clone())
        .collect();
    let ones: u64 = data.labels.iter().map(|&l| u64::from(l)).sum();
    Ok(VersionSummary {
        label_balance: ones as f64 / data.len().max(1) as f64,
        buckets: rows(&data.buckets, &buckets),
        arms: rows(&data.arms, &arms),
        never_varies,
        info,
    })
}

#[derive(Debug, Serialize)]
pub struct DiffReport {
    pub from: String,
    pub to: String,
    pub from_digest: String,
    pub to_digest: String,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    pub unchanged: u64,
    pub buckets: Vec<BucketDelta>,
}

#[derive(Debug, Serialize)]
pub struct BucketDelta {
    pub bucket: String,
    pub from: u64,
    pub to: u64,
    pub change: i64,
}

/// How `dataset diff` matches comparisons between two versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiffBy {
    /// By id: the same id with other content is *changed*.
    #[default]
    Id,
    /// By content (everything but the id, as `--id-from content` hashes it), counted with
    /// multiplicity: two datasets with the same pairs under other ids are unchanged, and nothing
    /// is *changed* (content is either there or not).
    Content,
}

/// Which comparisons `b` adds, removes and changes against `a` (by id and row fingerprint, or by
/// content alone), and the bucket counts of both.
pub fn diff(
    store: &Store,
    a: &VersionInfo,
    b: &VersionInfo,
    by: DiffBy,
) -> Result<DiffReport, AppError> {
    if a.schema.features != b.schema.features {
        return Err(AppError::Invalid(format!(
            "{} and {} have different feature schemas ([{}] vs [{}])",
            a.label(),
            b.label(),
            a.schema.features.join(", "),
            b.schema.features.join(", ")
        )));
    }
    if by == DiffBy::Content {
        return diff_by_content(store, a, b);
    }
    let mut old: HashMap<String, [u8; 32]> = HashMap::new();
    let mut old_buckets: BTreeMap<String, u64> = BTreeMap::new();
    store.for_each_comparison::<AppError>(a, |c| {
        *old_buckets.entry(c.bucket.clone()).or_default() += 1;
        old.insert(c.id.clone(), row_fingerprint(&c));
        Ok(())
    })?;
    let (mut added, mut changed) = (Vec::new(), Vec::new());
    let mut unchanged = 0u64;
    let mut new_buckets: BTreeMap<String, u64> = BTreeMap::new();
    store.for_each_comparison::<AppError>(b, |c| {
        *new_buckets.entry(c.bucket.clone()).or_default() += 1;
        match old.remove(&c.id) {
            None => added.push(c.id),
            Some(fp) if fp != row_fingerprint(&c) => changed.push(c.id),
            Some(_) => unchanged += 1,
        }
        Ok(())
    })?;
    let mut removed: Vec<String> = old.into_keys().collect();
    removed.sort();
    added.sort();
    changed.sort();
    Ok(report(
        a,
        b,
        (added, removed, changed, unchanged),
        &old_buckets,
        &new_buckets,
    ))
}

/// A comparison's content without its id.
fn content_key(c: &crate::model::Comparison) -> [u8; 32] {
    let mut anonymous = c.clone();
    anonymous.id.clear();
    row_fingerprint(&anonymous)
}

fn diff_by_content(
    store: &Store,
    a: &VersionInfo,
    b: &VersionInfo,
) -> Result<DiffReport, AppError> {
    // Each content key with the ids of `a` that carry it, oldest first (multiplicity kept).
    let mut old: HashMap<[u8; 32], std::collections::VecDeque<String>> = HashMap::new();
    let mut old_buckets: BTreeMap<String, u64> = BTreeMap::new();
    store.for_each_comparison::<AppError>(a, |c| {
        *old_buckets.entry(c.bucket.clone()).or_default() += 1;
        old.entry(content_key(&c)).or_default().push_back(c.id);
        Ok(())
    })?;
    let mut added = Vec::new();
    let mut unchanged = 0u64;
    let mut new_buckets: BTreeMap<String, u64> = BTreeMap::new();
    store.for_each_comparison::<AppError>(b, |c| {
        *new_buckets.entry(c.bucket.clone()).or_default() += 1;
        match old
            .get_mut(&content_key(&c))
            .and_then(|ids| ids.pop_front())
        {
            Some(_) => unchanged += 1,
            None => added.push(c.id),
        }
        Ok(())
    })?;
    let mut removed: Vec<String> = old.into_values().flatten().collect();
    removed.sort();
    added.sort();
    Ok(report(
        a,
        b,
        (added, removed, Vec::new(), unchanged),
        &old_buckets,
        &new_buckets,
    ))
}

fn report(
    a: &VersionInfo,
    b: &VersionInfo,
    (added, removed, changed, unchanged): (Vec<String>, Vec<String>, Vec<String>, u64),
    old_buckets: &BTreeMap<String, u64>,
    new_buckets: &BTreeMap<String, u64>,
) -> DiffReport {
    let mut names: Vec<&String> = old_buckets.keys().chain(new_buckets.keys()).collect();
    names.sort();
    names.dedup();
    let buckets = names
        .into_iter()
        .map(|name| {
            let from = old_buckets.get(name).copied().unwrap_or(0);
            let to = new_buckets.get(name).copied().unwrap_or(0);
            BucketDelta {
                bucket: name.clone(),
                from,
                to,
                change: to as i64 - from as i64,
            }
        })
        .collect();
    DiffReport {
        from: a.label(),
        to: b.label(),
        from_digest: a.digest.clone(),
        to_digest: b.digest.clone(),
        added,
        removed,
        changed,
        unchanged,
        buckets,
    }
}
