//! Audit bookkeeping: samples (what was drawn, along which direction, with which seed), the
//! comparisons each holds, and reviewers' verdicts. All append-only (migration 03-audits).
//!
//! A sample and its items are written in one transaction together with the caller's output (the
//! review sheet), so a sheet that could not be written leaves no sample behind. Verdicts of one
//! file are written in one transaction. Validation of what a user typed is the `audit` module's
//! job; the schema's constraints (one verdict per reviewer and comparison, items of a known
//! sample) are the last line of defence, not the error messages users see.

use std::collections::HashSet;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Result, StorageError, Store};
use crate::model::VersionInfo;
use crate::model::analysis::AnalysisParams;
use crate::model::named::NamedValues;

/// A sample to record.
#[derive(Debug, Clone)]
pub struct NewAuditSample<'a> {
    pub version: &'a VersionInfo,
    pub bucket: &'a str,
    pub strategy: &'a str,
    pub seed: u64,
    pub requested: u64,
    pub include_audited: bool,
    pub direction: &'a NamedValues,
    pub params: &'a AnalysisParams,
    pub pairs: &'a [[String; 2]],
    pub summary: &'a serde_json::Value,
    pub items: &'a [NewAuditItem<'a>],
    pub tool_version: &'a str,
    pub now: &'a str,
    pub actor: &'a str,
}

/// One comparison of a sample to record, in sheet order.
#[derive(Debug, Clone)]
pub struct NewAuditItem<'a> {
    /// The comparison's row key (from [`Store::comparison_keys`]).
    pub comparison: i64,
    pub selected_by: &'a str,
    pub ordinal: u64,
    pub alignment: f64,
    pub pair: Option<&'a [String; 2]>,
}

/// A recorded sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditSampleRecord {
    pub id: i64,
    #[serde(skip)]
    pub version_id: i64,
    pub dataset: String,
    pub version: u32,
    pub bucket: String,
    pub strategy: String,
    pub seed: u64,
    pub requested: u64,
    pub include_audited: bool,
    pub direction: NamedValues,
    pub params: AnalysisParams,
    pub pairs: Vec<[String; 2]>,
    pub summary: serde_json::Value,
    /// Comparisons the sample holds.
    pub items: u64,
    pub tool_version: String,
    pub created_at: String,
    pub created_by: String,
}

/// A comparison held by a recorded sample.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditItemRecord {
    pub sample_id: i64,
    pub comparison: i64,
    /// The comparison's id in the dataset.
    pub cid: String,
    pub bucket: String,
    pub position: u64,
    pub selected_by: String,
    pub ordinal: u64,
    pub alignment: f64,
}

/// A verdict to record.
#[derive(Debug, Clone)]
pub struct NewVerdict<'a> {
    pub sample_id: i64,
    pub comparison: i64,
    pub reviewer: &'a str,
    pub meaningful: bool,
    pub on_policy: bool,
    pub note: Option<&'a str>,
    pub source: &'a str,
    pub line: u64,
}

/// A recorded verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictRecord {
    pub sample_id: i64,
    pub comparison: i64,
    pub cid: String,
    pub bucket: String,
    pub reviewer: String,
    pub meaningful: bool,
    pub on_policy: bool,
    pub note: Option<String>,
    pub source: String,
    pub line: u64,
    pub recorded_at: String,
    pub recorded_by: String,
}

/// Why recording a sample wrote nothing: the caller's output failed, or storage did.
#[derive(Debug)]
pub enum EmitFailure<E> {
    Emit(E),
    Storage(StorageError),
}

impl<E> From<StorageError> for EmitFailure<E> {
    fn from(e: StorageError) -> Self {
        EmitFailure::Storage(e)
    }
}

impl<E> From<rusqlite::Error> for EmitFailure<E> {
    fn from(e: rusqlite::Error) -> Self {
        EmitFailure::Storage(e.into())
    }
}

fn json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StorageError::Corrupt(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(idx: usize, text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

const SELECT_SAMPLE: &str = "SELECT s.id, s.version_id, d.name, v.version, s.bucket, s.strategy,
        s.seed, s.requested, s.include_audited, s.direction, s.params, s.pairs, s.summary,
        (SELECT count(*) FROM audit_items i WHERE i.sample_id = s.id),
        s.tool_version, s.created_at, s.created_by
    FROM audit_samples s JOIN dataset_versions v ON v.id = s.version_id
    JOIN datasets d ON d.id = v.dataset_id";

fn read_sample(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditSampleRecord> {
    let seed: String = r.get(6)?;
    let seed = seed.parse::<u64>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(AuditSampleRecord {
        id: r.get(0)?,
        version_id: r.get(1)?,
        dataset: r.get(2)?,
        version: r.get(3)?,
        bucket: r.get(4)?,
        strategy: r.get(5)?,
        seed,
        requested: r.get::<_, i64>(7)? as u64,
        include_audited: r.get(8)?,
        direction: from_json(9, &r.get::<_, String>(9)?)?,
        params: from_json(10, &r.get::<_, String>(10)?)?,
        pairs: from_json(11, &r.get::<_, String>(11)?)?,
        summary: from_json(12, &r.get::<_, String>(12)?)?,
        items: r.get::<_, i64>(13)? as u64,
        tool_version: r.get(14)?,
        created_at: r.get(15)?,
        created_by: r.get(16)?,
    })
}

impl Store {
    /// (row key, comparison id) of every comparison of a version, in import order — the order of
    /// [`Store::version_data`]'s rows.
    pub fn comparison_keys(&self, info: &VersionInfo) -> Result<Vec<(i64, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, cid FROM comparisons WHERE version_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([info.id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The buckets of a version, sorted.
    pub fn version_buckets(&self, info: &VersionInfo) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT value FROM version_dictionary WHERE version_id = ?1 AND kind = 'bucket'
             ORDER BY value",
        )?;
        let rows = stmt.query_map([info.id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Row keys of the comparisons that some sample of the version holds.
    pub fn audited_comparisons(&self, info: &VersionInfo) -> Result<HashSet<i64>> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT i.comparison_id FROM audit_items i
             JOIN audit_samples s ON s.id = i.sample_id WHERE s.version_id = ?1",
        )?;
        let rows = stmt.query_map([info.id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records a sample and its items, then calls `emit` with the new sample's id inside the same
    /// transaction: if `emit` fails, nothing is recorded.
    pub fn record_audit_sample<E>(
        &mut self,
        s: &NewAuditSample<'_>,
        emit: impl FnOnce(i64) -> std::result::Result<(), E>,
    ) -> std::result::Result<i64, EmitFailure<E>> {
        let tx = self.write_transaction()?;
        tx.execute(
            "INSERT INTO audit_samples (version_id, bucket, strategy, seed, requested,
             include_audited, direction, params, pairs, summary, tool_version, created_at, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                s.version.id,
                s.bucket,
                s.strategy,
                s.seed.to_string(),
                s.requested as i64,
                s.include_audited,
                json(s.direction)?,
                json(s.params)?,
                json(&s.pairs)?,
                json(s.summary)?,
                s.tool_version,
                s.now,
                s.actor
            ],
        )?;
        let id = tx.last_insert_rowid();
        {
            let mut stmt = tx.prepare(
                "INSERT INTO audit_items (sample_id, comparison_id, position, selected_by, ordinal,
                 alignment, pair) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for (k, item) in s.items.iter().enumerate() {
                let pair = item.pair.map(json).transpose()?;
                stmt.execute(params![
                    id,
                    item.comparison,
                    k as i64 + 1,
                    item.selected_by,
                    item.ordinal as i64,
                    item.alignment,
                    pair
                ])?;
            }
        }
        emit(id).map_err(EmitFailure::Emit)?;
        tx.commit()?;
        Ok(id)
    }

    /// A recorded sample by id.
    pub fn audit_sample(&self, id: i64) -> Result<Option<AuditSampleRecord>> {
        let sql = format!("{SELECT_SAMPLE} WHERE s.id = ?1");
        Ok(self.conn.query_row(&sql, [id], read_sample).optional()?)
    }

    /// The samples of a version, oldest first.
    pub fn audit_samples(&self, info: &VersionInfo) -> Result<Vec<AuditSampleRecord>> {
        let sql = format!("{SELECT_SAMPLE} WHERE s.version_id = ?1 ORDER BY s.id");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([info.id], read_sample)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn query_items(&self, filter: &str, key: i64) -> Result<Vec<AuditItemRecord>> {
        let sql = format!(
            "SELECT i.sample_id, i.comparison_id, c.cid, c.bucket, i.position, i.selected_by,
                    i.ordinal, i.alignment
             FROM audit_items i JOIN audit_samples s ON s.id = i.sample_id
             JOIN comparisons c ON c.id = i.comparison_id
             WHERE {filter} ORDER BY i.sample_id, i.position"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([key], |r| {
            Ok(AuditItemRecord {
                sample_id: r.get(0)?,
                comparison: r.get(1)?,
                cid: r.get(2)?,
                bucket: r.get(3)?,
                position: r.get::<_, i64>(4)? as u64,
                selected_by: r.get(5)?,
                ordinal: r.get::<_, i64>(6)? as u64,
                alignment: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The items of every sample of a version, in sample and sheet order.
    pub fn audit_items(&self, info: &VersionInfo) -> Result<Vec<AuditItemRecord>> {
        self.query_items("s.version_id = ?1", info.id)
    }

    /// The items of one sample, in sheet order.
    pub fn audit_sample_items(&self, sample_id: i64) -> Result<Vec<AuditItemRecord>> {
        self.query_items("i.sample_id = ?1", sample_id)
    }

    /// Verdicts matching `filter` with their row id, version label and whether they match their
    /// binding (`None`: recorded before bindings existed).
    fn verdict_rows(&self, filter: &str, key: i64) -> Result<Vec<CheckedVerdict>> {
        let sql = format!(
            "SELECT a.sample_id, a.comparison_id, c.cid, c.bucket, a.reviewer, a.meaningful,
                    a.on_policy, a.note, a.source, a.line, a.recorded_at, a.recorded_by,
                    a.id, ver.digest, a.binding, d.name, ver.version
             FROM audit_verdicts a JOIN audit_samples s ON s.id = a.sample_id
             JOIN dataset_versions ver ON ver.id = s.version_id
             JOIN datasets d ON d.id = ver.dataset_id
             JOIN comparisons c ON c.id = a.comparison_id
             WHERE {filter} ORDER BY a.id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([key], |r| {
            let record = VerdictRecord {
                sample_id: r.get(0)?,
                comparison: r.get(1)?,
                cid: r.get(2)?,
                bucket: r.get(3)?,
                reviewer: r.get(4)?,
                meaningful: r.get(5)?,
                on_policy: r.get(6)?,
                note: r.get(7)?,
                source: r.get(8)?,
                line: r.get::<_, i64>(9)? as u64,
                recorded_at: r.get(10)?,
                recorded_by: r.get(11)?,
            };
            let digest: String = r.get(13)?;
            let binding: Option<String> = r.get(14)?;
            let verified = binding.map(|stored| {
                let as_recorded = NewVerdict {
                    sample_id: record.sample_id,
                    comparison: record.comparison,
                    reviewer: &record.reviewer,
                    meaningful: record.meaningful,
                    on_policy: record.on_policy,
                    note: record.note.as_deref(),
                    source: &record.source,
                    line: record.line,
                };
                verdict_binding(&digest, &record.cid, &as_recorded) == stored
            });
            Ok(CheckedVerdict {
                id: r.get(12)?,
                version: format!("{}@{}", r.get::<_, String>(15)?, r.get::<_, u32>(16)?),
                verified,
                record,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Verdicts matching `filter`. A verdict whose binding does not verify is never returned as
    /// evidence: the read fails naming it (pass rates and the gate's audit rules read these).
    fn query_verdicts(&self, filter: &str, key: i64) -> Result<Vec<VerdictRecord>> {
        self.verdict_rows(filter, key)?
            .into_iter()
            .map(|v| match v.verified {
                Some(false) => Err(StorageError::Corrupt(format!(
                    "audit verdict {} does not match its binding: it was altered outside overlap, so no audit evidence is read (see `overlap store verify`)",
                    v.id
                ))),
                // Verdicts recorded before schema 7 have no binding (counted by `store verify`).
                _ => Ok(v.record),
            })
            .collect()
    }

    /// Every verdict on comparisons of a version, in recording order.
    pub fn audit_verdicts(&self, info: &VersionInfo) -> Result<Vec<VerdictRecord>> {
        self.query_verdicts("s.version_id = ?1", info.id)
    }

    /// Every verdict (from any sample) on the comparisons one sample holds, in recording order.
    pub fn verdicts_on_sample_items(&self, sample_id: i64) -> Result<Vec<VerdictRecord>> {
        self.query_verdicts(
            "a.comparison_id IN (SELECT comparison_id FROM audit_items WHERE sample_id = ?1)",
            sample_id,
        )
    }

    /// Records verdicts in one transaction: all or none.
    pub fn record_verdicts(
        &mut self,
        verdicts: &[NewVerdict<'_>],
        now: &str,
        actor: &str,
    ) -> Result<usize> {
        let tx = self.write_transaction()?;
        {
            let mut stmt = tx.prepare(
                "INSERT INTO audit_verdicts (sample_id, comparison_id, reviewer, meaningful,
                 on_policy, note, source, line, recorded_at, recorded_by, binding)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            let mut judged = tx.prepare(
                "SELECT v.digest, c.cid FROM audit_samples s
                 JOIN dataset_versions v ON v.id = s.version_id
                 JOIN comparisons c ON c.id = ?2 AND c.version_id = s.version_id
                 WHERE s.id = ?1",
            )?;
            for v in verdicts {
                let (digest, cid): (String, String) = judged
                    .query_row(params![v.sample_id, v.comparison], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()?
                    .ok_or_else(|| {
                        StorageError::NotFound(format!(
                            "{}:{}: the comparison is not in the sample's version",
                            v.source, v.line
                        ))
                    })?;
                let bound = verdict_binding(&digest, &cid, v);
                stmt.execute(params![
                    v.sample_id,
                    v.comparison,
                    v.reviewer,
                    v.meaningful,
                    v.on_policy,
                    v.note,
                    v.source,
                    v.line as i64,
                    now,
                    actor,
                    bound
                ])
                .map_err(|e| match e {
                    rusqlite::Error::SqliteFailure(f, _)
                        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
                    {
                        StorageError::Conflict(format!(
                            "{}:{}: reviewer: '{}' already has a verdict on this comparison (recorded concurrently); nothing was recorded",
                            v.source, v.line, v.reviewer
                        ))
                    }
                    e => e.into(),
                })?;
            }
        }
        tx.commit()?;
        Ok(verdicts.len())
    }
}

/// A verdict bound to the version digest and comparison id it judges and to what it says.
fn verdict_binding(version_digest: &str, cid: &str, v: &NewVerdict<'_>) -> String {
    super::results::binding(
        "overlap/verdict/v1",
        &[
            version_digest,
            &v.sample_id.to_string(),
            cid,
            v.reviewer,
            &v.meaningful.to_string(),
            &v.on_policy.to_string(),
            v.note.unwrap_or("\u{0}none"),
            v.source,
            &v.line.to_string(),
        ],
    )
}

/// A stored verdict with what verification needs to report on it.
struct CheckedVerdict {
    id: i64,
    /// `name@V` of the version it judges.
    version: String,
    verified: Option<bool>,
    record: VerdictRecord,
}

impl Store {
    /// Re-derives the binding of every audit verdict (see `verify_results`).
    pub(super) fn verify_verdicts(&self, check: &mut super::ResultsCheck) -> Result<()> {
        for v in self.verdict_rows("?1 = 1", 1)? {
            check.verdicts += 1;
            match v.verified {
                None => check.unbound += 1,
                Some(false) => check
                    .broken
                    .push(super::BrokenResult::altered("verdict", v.id, v.version)),
                Some(true) => {}
            }
        }
        Ok(())
    }
}
