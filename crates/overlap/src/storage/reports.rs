//! The record of produced reports: which report of which version, in which format, with which
//! digest, signature and inputs. Append-only; the report files themselves live wherever the user
//! wrote them.

use rusqlite::params;
use serde::Serialize;

use super::{Result, Store};
use crate::model::VersionInfo;

/// What `record_report` stores.
#[derive(Debug, Clone)]
pub struct NewReport<'a> {
    /// `nutrition-label` or `design-adequacy`.
    pub kind: &'a str,
    /// `md`, `html` or `json`.
    pub format: &'a str,
    pub file: &'a str,
    pub report_sha256: &'a str,
    /// Fingerprint of the signing key; `None` for an unsigned report.
    pub key_fingerprint: Option<&'a str>,
    pub policy_name: &'a str,
    pub policy_digest: &'a str,
    pub report_date: &'a str,
    /// The gate verdict shown in the report: `pass` or `fail`.
    pub verdict: &'a str,
    pub tool_version: &'a str,
    pub now: &'a str,
    pub actor: &'a str,
}

/// A produced report, as `report history` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRecord {
    pub id: i64,
    pub dataset: String,
    pub version: u32,
    pub digest: String,
    pub kind: String,
    pub format: String,
    pub file: String,
    pub report_sha256: String,
    pub signed: bool,
    pub key_fingerprint: Option<String>,
    pub policy_name: String,
    pub policy_digest: String,
    pub report_date: String,
    pub verdict: String,
    pub tool_version: String,
    pub created_at: String,
    pub created_by: String,
    /// Whether the row matches its binding: `false` when it was altered outside overlap, `None`
    /// for rows recorded before bindings existed.
    pub verified: Option<bool>,
}

impl Store {
    /// Records a produced report; returns its id.
    pub fn record_report(&mut self, version: &VersionInfo, r: &NewReport<'_>) -> Result<i64> {
        let bound = report_binding(
            &version.digest,
            &[
                r.kind,
                r.format,
                r.file,
                r.report_sha256,
                r.key_fingerprint.unwrap_or("unsigned"),
                r.policy_name,
                r.policy_digest,
                r.report_date,
                r.verdict,
                r.tool_version,
            ],
        );
        self.conn.execute(
            "INSERT INTO reports (version_id, kind, format, file, report_sha256, signed,
             key_fingerprint, policy_name, policy_digest, report_date, verdict, tool_version,
             created_at, created_by, binding)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                version.id,
                r.kind,
                r.format,
                r.file,
                r.report_sha256,
                r.key_fingerprint.is_some(),
                r.key_fingerprint,
                r.policy_name,
                r.policy_digest,
                r.report_date,
                r.verdict,
                r.tool_version,
                r.now,
                r.actor,
                bound
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Reports produced for every version of a dataset, oldest first.
    pub fn reports(&self, dataset: &str) -> Result<Vec<ReportRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT r.id, d.name, v.version, v.digest, r.kind, r.format, r.file, r.report_sha256,
                    r.signed, r.key_fingerprint, r.policy_name, r.policy_digest, r.report_date,
                    r.verdict, r.tool_version, r.created_at, r.created_by, r.binding
             FROM reports r JOIN dataset_versions v ON v.id = r.version_id
             JOIN datasets d ON d.id = v.dataset_id WHERE d.name = ?1 ORDER BY r.id",
        )?;
        let rows = stmt.query_map([dataset], |r| {
            let mut record = ReportRecord {
                id: r.get(0)?,
                dataset: r.get(1)?,
                version: r.get(2)?,
                digest: r.get(3)?,
                kind: r.get(4)?,
                format: r.get(5)?,
                file: r.get(6)?,
                report_sha256: r.get(7)?,
                signed: r.get(8)?,
                key_fingerprint: r.get(9)?,
                policy_name: r.get(10)?,
                policy_digest: r.get(11)?,
                report_date: r.get(12)?,
                verdict: r.get(13)?,
                tool_version: r.get(14)?,
                created_at: r.get(15)?,
                created_by: r.get(16)?,
                verified: None,
            };
            let binding: Option<String> = r.get(17)?;
            record.verified = binding.map(|stored| {
                let fingerprint = record.key_fingerprint.as_deref().unwrap_or("unsigned");
                let fields = [
                    record.kind.as_str(),
                    &record.format,
                    &record.file,
                    &record.report_sha256,
                    fingerprint,
                    &record.policy_name,
                    &record.policy_digest,
                    &record.report_date,
                    &record.verdict,
                    &record.tool_version,
                ];
                report_binding(&record.digest, &fields) == stored
            });
            Ok(record)
        })?;
        rows.map(|r| r.map_err(Into::into)).collect()
    }
}

/// A report record bound to the version digest and every field it records (the report's bytes
/// through their SHA-256).
fn report_binding(version_digest: &str, fields: &[&str]) -> String {
    let mut all = vec![version_digest];
    all.extend_from_slice(fields);
    super::results::binding("overlap/report/v1", &all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_append_only() {
        let store = Store::in_memory().expect("store");
        let triggers: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'reports'",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(triggers, 2);
    }
}
