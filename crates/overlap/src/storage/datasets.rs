//! Immutable, content-addressed dataset versions: streaming import, listing and reading.
//!
//! An import runs in one IMMEDIATE transaction: rows are written as the caller validates them, and
//! the version row is written last, once the digest and schema are known. Any error — or content
//! identical to the latest version — rolls everything back. Foreign keys are deferred inside the
//! import because the rows reference a version row that is written at the end.

use rustc_hash::FxHashMap;

use rusqlite::{OptionalExtension, Statement, Transaction, params};
use serde::Serialize;

use super::{Result, StorageError, Store};
use crate::model::dataset::{NO_GROUP, VersionData};
use crate::model::{Comparison, DatasetRef, FeatureSchema, FeatureValues, VersionInfo};

/// Rows per columnar chunk: 64 Ki rows of d = 8 is a 4 MiB Δφ blob.
const CHUNK_ROWS: usize = 1 << 16;

/// One dataset with its latest version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetSummary {
    pub name: String,
    pub versions: u32,
    pub latest: VersionInfo,
}

/// What the import writes besides the rows.
#[derive(Debug, Clone)]
pub struct NewVersion<'a> {
    pub note: Option<&'a str>,
    pub source: Option<&'a str>,
    pub actor: &'a str,
    pub now: &'a str,
}

/// What the caller's row producer returns once every row is pushed.
#[derive(Debug, Clone)]
pub struct Finished {
    pub schema: FeatureSchema,
    pub digest: String,
    pub dropped_ties: u64,
    /// Records a lenient import rejected, and the SHA-256 of the rejects file listing them.
    pub rejected: u64,
    pub rejects_sha256: Option<String>,
    /// Text pairs: `standard` or `conversational` (see [`VersionInfo::text_layout`]).
    pub text_layout: Option<&'static str>,
}

#[derive(Debug)]
pub enum ImportOutcome {
    Created(VersionInfo),
    /// The content is identical to the latest version; nothing was written.
    Unchanged(VersionInfo),
}

/// Why an import wrote nothing: the caller's input error, or storage.
#[derive(Debug)]
pub enum ImportFailure<E> {
    Input(E),
    Storage(StorageError),
}

impl<E> From<StorageError> for ImportFailure<E> {
    fn from(e: StorageError) -> Self {
        ImportFailure::Storage(e)
    }
}

impl<E> From<rusqlite::Error> for ImportFailure<E> {
    fn from(e: rusqlite::Error) -> Self {
        ImportFailure::Storage(e.into())
    }
}

fn f64_blob(values: &[f64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 8);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

fn write_f64s(out: &mut Vec<u8>, values: &[f64]) {
    out.clear();
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn blob_f64(bytes: &[u8]) -> Result<Vec<f64>> {
    if bytes.len() % 8 != 0 {
        return Err(StorageError::Corrupt(
            "feature blob length is not a multiple of 8".into(),
        ));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect())
}

fn blob_u32(bytes: &[u8]) -> Result<Vec<u32>> {
    if bytes.len() % 4 != 0 {
        return Err(StorageError::Corrupt(
            "index blob length is not a multiple of 4".into(),
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

#[derive(Default)]
struct Dictionary {
    index: FxHashMap<String, u32>,
    values: Vec<String>,
}

impl Dictionary {
    fn intern(&mut self, value: &str) -> u32 {
        if let Some(i) = self.index.get(value) {
            return *i;
        }
        let i = self.values.len() as u32;
        self.index.insert(value.to_string(), i);
        self.values.push(value.to_string());
        i
    }
}

/// Receives validated rows during an import and writes them inside the import's transaction.
pub struct RowSink<'t> {
    version_id: i64,
    d: Option<usize>,
    insert_row: Statement<'t>,
    insert_chunk: Statement<'t>,
    chunk_index: i64,
    delta: Vec<f64>,
    labels: Vec<u8>,
    buckets: Vec<u32>,
    arms: Vec<u32>,
    groups: Vec<u32>,
    bucket_dict: Dictionary,
    arm_dict: Dictionary,
    group_dict: Dictionary,
    scratch: Vec<f64>,
    blob_a: Vec<u8>,
    blob_b: Vec<u8>,
    last_arm: Option<(Option<String>, Option<String>, u32)>,
    rows: u64,
}

impl<'t> RowSink<'t> {
    fn new(tx: &'t Transaction<'t>, version_id: i64) -> Result<Self> {
        Ok(RowSink {
            version_id,
            d: None,
            insert_row: tx.prepare(
                "INSERT INTO comparisons (version_id, cid, bucket, grp, prompt_id, label, labeler,
                 a_intervention, b_intervention, a_features, b_features, delta, prompt, a_text, b_text)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )?,
            insert_chunk: tx.prepare(
                "INSERT INTO version_chunks (version_id, chunk, n, delta, labels, buckets, arms, groups)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?,
            chunk_index: 0,
            delta: Vec::new(),
            labels: Vec::new(),
            buckets: Vec::new(),
            arms: Vec::new(),
            groups: Vec::new(),
            bucket_dict: Dictionary::default(),
            arm_dict: Dictionary::default(),
            group_dict: Dictionary::default(),
            scratch: Vec::new(),
            blob_a: Vec::new(),
            blob_b: Vec::new(),
            last_arm: None,
            rows: 0,
        })
    }

    /// Writes one validated row. All rows must have the same dimension.
    pub fn push(&mut self, c: &Comparison) -> Result<()> {
        c.values.delta_into(&mut self.scratch);
        match self.d {
            None => self.d = Some(self.scratch.len()),
            Some(d) if d != self.scratch.len() => {
                return Err(StorageError::Conflict(format!(
                    "row '{}' has {} features, expected {d}",
                    c.id,
                    self.scratch.len()
                )));
            }
            Some(_) => {}
        }
        // Blobs are encoded into buffers reused across rows (no allocation per row).
        let (a, b, delta) = match &c.values {
            FeatureValues::Sides { a, b } => {
                write_f64s(&mut self.blob_a, a);
                write_f64s(&mut self.blob_b, b);
                (Some(&self.blob_a[..]), Some(&self.blob_b[..]), None)
            }
            FeatureValues::Delta(d) => {
                write_f64s(&mut self.blob_a, d);
                (None, None, Some(&self.blob_a[..]))
            }
        };
        self.insert_row.execute(params![
            self.version_id,
            c.id,
            c.bucket,
            c.group,
            c.prompt_id,
            c.label,
            c.labeler,
            c.a_intervention,
            c.b_intervention,
            a,
            b,
            delta,
            c.prompt,
            c.a_text,
            c.b_text
        ])?;
        self.delta.extend_from_slice(&self.scratch);
        self.labels.push(c.label);
        self.buckets.push(self.bucket_dict.intern(&c.bucket));
        // Consecutive rows usually share their arm: reuse the last one's index.
        let arm = match &self.last_arm {
            Some((a, b, idx)) if *a == c.a_intervention && *b == c.b_intervention => *idx,
            _ => {
                let idx = self.arm_dict.intern(c.arm().as_str());
                self.last_arm = Some((c.a_intervention.clone(), c.b_intervention.clone(), idx));
                idx
            }
        };
        self.arms.push(arm);
        self.groups.push(match &c.group {
            Some(g) => self.group_dict.intern(g),
            None => NO_GROUP,
        });
        self.rows += 1;
        if self.labels.len() >= CHUNK_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.labels.is_empty() {
            return Ok(());
        }
        let u32s = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        self.insert_chunk.execute(params![
            self.version_id,
            self.chunk_index,
            self.labels.len() as i64,
            f64_blob(&self.delta),
            self.labels,
            u32s(&self.buckets),
            u32s(&self.arms),
            u32s(&self.groups)
        ])?;
        self.chunk_index += 1;
        self.delta.clear();
        self.labels.clear();
        self.buckets.clear();
        self.arms.clear();
        self.groups.clear();
        Ok(())
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }
}

const SELECT_VERSION: &str =
    "SELECT v.id, d.name, v.version, p.version, v.digest, v.schema, v.n_rows,
        v.dropped_ties, v.source, v.note, v.created_at, v.created_by, v.rejected, v.rejects_sha256,
        v.text_layout
    FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id
    LEFT JOIN dataset_versions p ON p.id = v.parent_id";

fn read_version(r: &rusqlite::Row<'_>) -> rusqlite::Result<VersionInfo> {
    let schema_text: String = r.get(5)?;
    let schema: FeatureSchema = serde_json::from_str(&schema_text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(VersionInfo {
        id: r.get(0)?,
        dataset: r.get(1)?,
        version: r.get(2)?,
        parent: r.get(3)?,
        digest: r.get(4)?,
        schema,
        n: r.get::<_, i64>(6)? as u64,
        dropped_ties: r.get::<_, i64>(7)? as u64,
        source: r.get(8)?,
        note: r.get(9)?,
        created_at: r.get(10)?,
        created_by: r.get(11)?,
        rejected: r.get::<_, i64>(12)? as u64,
        rejects_sha256: r.get(13)?,
        text_layout: r.get(14)?,
    })
}

fn latest_version(tx: &rusqlite::Connection, name: &str) -> Result<Option<VersionInfo>> {
    let sql = format!("{SELECT_VERSION} WHERE d.name = ?1 ORDER BY v.version DESC LIMIT 1");
    Ok(tx.query_row(&sql, [name], read_version).optional()?)
}

impl Store {
    /// Imports one version of `name`. `fill` receives a sink for validated rows and the latest
    /// version (whose schema a new version must match) and returns the schema and digest; any
    /// error it returns rolls the import back. `phase` names the steps after the rows (writing
    /// the columnar data, committing), which take seconds on large versions.
    pub fn import_version<E>(
        &mut self,
        name: &str,
        new: &NewVersion<'_>,
        fill: impl FnOnce(&mut RowSink<'_>, Option<&VersionInfo>) -> std::result::Result<Finished, E>,
        phase: &dyn Fn(&'static str),
    ) -> std::result::Result<ImportOutcome, ImportFailure<E>> {
        let tx = self.write_transaction()?;
        tx.pragma_update(None, "defer_foreign_keys", "ON")?;
        let latest = latest_version(&tx, name)?;
        let version_id: i64 = tx.query_row(
            "SELECT coalesce(max(id), 0) + 1 FROM dataset_versions",
            [],
            |r| r.get(0),
        )?;
        let (finished, rows, dicts) = {
            let mut sink = RowSink::new(&tx, version_id)?;
            let finished = fill(&mut sink, latest.as_ref()).map_err(ImportFailure::Input)?;
            phase("writing the columnar data");
            sink.flush()?;
            let dicts = [
                ("bucket", std::mem::take(&mut sink.bucket_dict.values)),
                ("arm", std::mem::take(&mut sink.arm_dict.values)),
                ("group", std::mem::take(&mut sink.group_dict.values)),
            ];
            (finished, sink.rows, dicts)
        };
        if let Some(latest) = &latest {
            if latest.digest == finished.digest {
                // Dropping the transaction rolls back the rows written so far.
                return Ok(ImportOutcome::Unchanged(latest.clone()));
            }
        }
        let dataset_id: i64 = match tx
            .query_row("SELECT id FROM datasets WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?
        {
            Some(id) => id,
            None => {
                tx.execute(
                    "INSERT INTO datasets (name, created_at, created_by) VALUES (?1, ?2, ?3)",
                    params![name, new.now, new.actor],
                )?;
                tx.last_insert_rowid()
            }
        };
        let version = latest.as_ref().map_or(1, |l| l.version + 1);
        let schema_json = serde_json::to_string(&finished.schema)
            .map_err(|e| ImportFailure::Storage(StorageError::Corrupt(e.to_string())))?;
        tx.execute(
            "INSERT INTO dataset_versions (id, dataset_id, version, parent_id, digest, schema, n_rows,
             dropped_ties, source, note, created_at, created_by, rejected, rejects_sha256,
             text_layout)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                version_id,
                dataset_id,
                version,
                latest.as_ref().map(|l| l.id),
                finished.digest,
                schema_json,
                rows as i64,
                finished.dropped_ties as i64,
                new.source,
                new.note,
                new.now,
                new.actor,
                finished.rejected as i64,
                finished.rejects_sha256,
                finished.text_layout,
            ],
        )?;
        {
            let mut stmt = tx.prepare(
                "INSERT INTO version_dictionary (version_id, kind, idx, value) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (kind, values) in &dicts {
                for (i, v) in values.iter().enumerate() {
                    stmt.execute(params![version_id, kind, i as i64, v])?;
                }
            }
        }
        phase("committing");
        tx.commit()?;
        let info = self
            .version_by_id(version_id)?
            .ok_or_else(|| StorageError::Corrupt("the imported version vanished".into()))?;
        Ok(ImportOutcome::Created(info))
    }

    fn version_by_id(&self, id: i64) -> Result<Option<VersionInfo>> {
        let sql = format!("{SELECT_VERSION} WHERE v.id = ?1");
        Ok(self.conn.query_row(&sql, [id], read_version).optional()?)
    }

    /// Resolves `NAME` (latest) or `NAME@V`.
    pub fn resolve(&self, r: &DatasetRef) -> Result<VersionInfo> {
        let name = r.name.as_str();
        let found = match r.version {
            None => latest_version(&self.conn, name)?,
            Some(v) => {
                let sql = format!("{SELECT_VERSION} WHERE d.name = ?1 AND v.version = ?2");
                self.conn
                    .query_row(&sql, params![name, v], read_version)
                    .optional()?
            }
        };
        match (found, r.version) {
            (Some(info), _) => Ok(info),
            (None, Some(v)) => match latest_version(&self.conn, name)? {
                Some(latest) => Err(StorageError::NotFound(format!(
                    "dataset '{name}' has no version {v} (latest is {})",
                    latest.version
                ))),
                None => Err(no_dataset(name)),
            },
            (None, None) => Err(no_dataset(name)),
        }
    }

    /// Every version of a dataset, oldest first.
    pub fn versions(&self, name: &str) -> Result<Vec<VersionInfo>> {
        let sql = format!("{SELECT_VERSION} WHERE d.name = ?1 ORDER BY v.version");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([name], read_version)?;
        let out: Vec<VersionInfo> = rows.collect::<rusqlite::Result<_>>()?;
        if out.is_empty() {
            return Err(no_dataset(name));
        }
        Ok(out)
    }

    /// Every dataset with its latest version, sorted by name.
    pub fn datasets(&self) -> Result<Vec<DatasetSummary>> {
        let sql = format!(
            "{SELECT_VERSION} WHERE v.version = (SELECT max(version) FROM dataset_versions
             WHERE dataset_id = v.dataset_id) ORDER BY d.name"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], read_version)?;
        rows.map(|r| {
            let latest = r?;
            Ok(DatasetSummary {
                name: latest.dataset.clone(),
                versions: latest.version,
                latest,
            })
        })
        .collect()
    }

    /// The columnar data of a version.
    pub fn version_data(&self, info: &VersionInfo) -> Result<VersionData> {
        let d = info.schema.dim();
        let mut data = VersionData {
            d,
            ..VersionData::default()
        };
        let n = info.n as usize;
        data.delta.reserve(n * d);
        data.labels.reserve(n);
        let mut stmt = self.conn.prepare(
            "SELECT n, delta, labels, buckets, arms, groups FROM version_chunks
             WHERE version_id = ?1 ORDER BY chunk",
        )?;
        let mut rows = stmt.query([info.id])?;
        while let Some(r) = rows.next()? {
            let rows_in_chunk = r.get::<_, i64>(0)? as usize;
            let delta = blob_f64(r.get_ref(1)?.as_blob()?)?;
            let labels = r.get_ref(2)?.as_blob()?;
            let buckets = blob_u32(r.get_ref(3)?.as_blob()?)?;
            let arms = blob_u32(r.get_ref(4)?.as_blob()?)?;
            let groups = blob_u32(r.get_ref(5)?.as_blob()?)?;
            if delta.len() != rows_in_chunk * d
                || labels.len() != rows_in_chunk
                || buckets.len() != rows_in_chunk
                || arms.len() != rows_in_chunk
                || groups.len() != rows_in_chunk
            {
                return Err(StorageError::Corrupt(format!(
                    "a data chunk of {} has inconsistent lengths",
                    info.label()
                )));
            }
            data.delta.extend_from_slice(&delta);
            data.labels.extend_from_slice(labels);
            data.bucket.extend_from_slice(&buckets);
            data.arm.extend_from_slice(&arms);
            data.group.extend_from_slice(&groups);
        }
        if data.labels.len() != n {
            return Err(StorageError::Corrupt(format!(
                "{} should have {n} rows but its data has {}",
                info.label(),
                data.labels.len()
            )));
        }
        let mut stmt = self.conn.prepare(
            "SELECT kind, idx, value FROM version_dictionary WHERE version_id = ?1 ORDER BY kind, idx",
        )?;
        let mut rows = stmt.query([info.id])?;
        while let Some(r) = rows.next()? {
            let kind: String = r.get(0)?;
            let idx: i64 = r.get(1)?;
            let value: String = r.get(2)?;
            let target = match kind.as_str() {
                "bucket" => &mut data.buckets,
                "arm" => &mut data.arms,
                _ => &mut data.groups,
            };
            if idx as usize != target.len() {
                return Err(StorageError::Corrupt(
                    "a version dictionary has gaps".into(),
                ));
            }
            target.push(value);
        }
        let bad = |idx: &[u32], len: usize, allow_none: bool| {
            idx.iter()
                .any(|&i| !(allow_none && i == NO_GROUP) && i as usize >= len)
        };
        if bad(&data.bucket, data.buckets.len(), false)
            || bad(&data.arm, data.arms.len(), false)
            || bad(&data.group, data.groups.len(), true)
        {
            return Err(StorageError::Corrupt(format!(
                "{} has rows that point outside its dictionaries",
                info.label()
            )));
        }
        Ok(data)
    }

    /// Streams the rows of a version in import order.
    pub fn for_each_comparison<E: From<StorageError>>(
        &self,
        info: &VersionInfo,
        mut f: impl FnMut(Comparison) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT cid, bucket, grp, prompt_id, label, labeler, a_intervention, b_intervention,
                 a_features, b_features, delta, prompt, a_text, b_text
                 FROM comparisons WHERE version_id = ?1 ORDER BY id",
            )
            .map_err(StorageError::from)?;
        let mut rows = stmt.query([info.id]).map_err(StorageError::from)?;
        while let Some(r) = rows.next().map_err(StorageError::from)? {
            let c = read_comparison(r)?;
            f(c)?;
        }
        Ok(())
    }
}

fn read_comparison(r: &rusqlite::Row<'_>) -> Result<Comparison> {
    let blob = |idx: usize| -> Result<Option<Vec<f64>>> {
        match r.get_ref(idx)? {
            rusqlite::types::ValueRef::Null => Ok(None),
            v => Ok(Some(blob_f64(v.as_blob()?)?)),
        }
    };
    let values = match (blob(8)?, blob(9)?, blob(10)?) {
        (Some(a), Some(b), None) => FeatureValues::Sides { a, b },
        (None, None, Some(d)) => FeatureValues::Delta(d),
        _ => {
            return Err(StorageError::Corrupt(
                "a comparison has inconsistent feature blobs".into(),
            ));
        }
    };
    Ok(Comparison {
        id: r.get(0)?,
        bucket: r.get(1)?,
        group: r.get(2)?,
        prompt_id: r.get(3)?,
        label: r.get(4)?,
        labeler: r.get(5)?,
        a_intervention: r.get(6)?,
        b_intervention: r.get(7)?,
        values,
        prompt: r.get(11)?,
        a_text: r.get(12)?,
        b_text: r.get(13)?,
    })
}

fn no_dataset(name: &str) -> StorageError {
    StorageError::NotFound(format!(
        "no dataset named '{name}': see `overlap dataset list`, or import one with `overlap dataset import {name} FILE`"
    ))
}

/// Which kinds of content the rows of a version carry (for exporters choosing columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VersionShape {
    pub sides: bool,
    pub delta: bool,
    pub texts: bool,
}

impl Store {
    pub fn version_shape(&self, info: &VersionInfo) -> Result<VersionShape> {
        Ok(self.conn.query_row(
            "SELECT
               EXISTS (SELECT 1 FROM comparisons WHERE version_id = ?1 AND delta IS NULL),
               EXISTS (SELECT 1 FROM comparisons WHERE version_id = ?1 AND delta IS NOT NULL),
               EXISTS (SELECT 1 FROM comparisons WHERE version_id = ?1 AND
                       (prompt IS NOT NULL OR a_text IS NOT NULL OR b_text IS NOT NULL))",
            [info.id],
            |r| {
                Ok(VersionShape {
                    sides: r.get(0)?,
                    delta: r.get(1)?,
                    texts: r.get(2)?,
                })
            },
        )?)
    }
}
