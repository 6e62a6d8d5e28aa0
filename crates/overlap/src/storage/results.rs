//! Recorded results: analyses (reused for equal parameters) and gate evaluations.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Result, StorageError, Store, VersionInfo};
use crate::model::analysis::VersionAnalysis;

/// A stored gate evaluation, as `gate history` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvaluationRecord {
    pub id: i64,
    pub dataset: String,
    pub version: u32,
    pub digest: String,
    pub policy_name: String,
    pub policy_digest: String,
    pub policy_path: Option<String>,
    pub exit_code: i32,
    pub summary: serde_json::Value,
    pub tool_version: String,
    pub evaluated_on: String,
    pub created_at: String,
    pub created_by: String,
}

/// What `record_evaluation` stores.
pub struct NewEvaluation<'a> {
    pub policy_name: &'a str,
    pub policy_digest: &'a str,
    pub policy_path: Option<&'a str>,
    pub exit_code: i32,
    pub summary: &'a serde_json::Value,
    pub findings: &'a serde_json::Value,
    pub tool_version: &'a str,
    pub evaluated_on: &'a str,
    pub now: &'a str,
    pub actor: &'a str,
}

fn corrupt(e: serde_json::Error) -> StorageError {
    StorageError::Corrupt(e.to_string())
}

impl Store {
    /// A stored analysis of `version` with exactly these parameters by this tool version.
    pub fn find_analysis(
        &self,
        version: &VersionInfo,
        params_key: &str,
        tool_version: &str,
    ) -> Result<Option<VersionAnalysis>> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT result FROM analyses WHERE version_id = ?1 AND params_key = ?2
                 AND tool_version = ?3 ORDER BY id DESC LIMIT 1",
                params![version.id, params_key, tool_version],
                |r| r.get(0),
            )
            .optional()?;
        text.map(|t| serde_json::from_str(&t).map_err(corrupt))
            .transpose()
    }

    pub fn record_analysis(
        &mut self,
        version: &VersionInfo,
        params_key: &str,
        tool_version: &str,
        result: &VersionAnalysis,
        now: &str,
        actor: &str,
    ) -> Result<()> {
        let json = serde_json::to_string(result).map_err(corrupt)?;
        self.conn.execute(
            "INSERT INTO analyses (version_id, params_key, tool_version, result, created_at, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![version.id, params_key, tool_version, json, now, actor],
        )?;
        Ok(())
    }

    pub fn record_evaluation(
        &mut self,
        version: &VersionInfo,
        e: &NewEvaluation<'_>,
    ) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO evaluations (version_id, policy_name, policy_digest, policy_path, exit_code,
             summary, findings, tool_version, evaluated_on, created_at, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                version.id,
                e.policy_name,
                e.policy_digest,
                e.policy_path,
                e.exit_code,
                serde_json::to_string(e.summary).map_err(corrupt)?,
                serde_json::to_string(e.findings).map_err(corrupt)?,
                e.tool_version,
                e.evaluated_on,
                e.now,
                e.actor
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Evaluations of every version of a dataset, oldest first.
    pub fn evaluations(&self, dataset: &str) -> Result<Vec<EvaluationRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT e.id, d.name, v.version, v.digest, e.policy_name, e.policy_digest, e.policy_path,
                    e.exit_code, e.summary, e.tool_version, e.evaluated_on, e.created_at, e.created_by
             FROM evaluations e JOIN dataset_versions v ON v.id = e.version_id
             JOIN datasets d ON d.id = v.dataset_id WHERE d.name = ?1 ORDER BY e.id",
        )?;
        let rows = stmt.query_map([dataset], |r| {
            let summary: String = r.get(8)?;
            Ok((
                EvaluationRecord {
                    id: r.get(0)?,
                    dataset: r.get(1)?,
                    version: r.get(2)?,
                    digest: r.get(3)?,
                    policy_name: r.get(4)?,
                    policy_digest: r.get(5)?,
                    policy_path: r.get(6)?,
                    exit_code: r.get(7)?,
                    summary: serde_json::Value::Null,
                    tool_version: r.get(9)?,
                    evaluated_on: r.get(10)?,
                    created_at: r.get(11)?,
                    created_by: r.get(12)?,
                },
                summary,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (mut rec, summary) = row?;
            rec.summary = serde_json::from_str(&summary).map_err(corrupt)?;
            out.push(rec);
        }
        Ok(out)
    }
}

/// What `record_plan` stores.
pub struct NewPlan<'a> {
    pub policy_name: &'a str,
    pub policy_digest: &'a str,
    pub budget: Option<f64>,
    pub label_cost: f64,
    pub plan: &'a serde_json::Value,
    pub now: &'a str,
    pub actor: &'a str,
}

impl Store {
    pub fn record_plan(&mut self, version: &VersionInfo, p: &NewPlan<'_>) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO plans (version_id, policy_name, policy_digest, budget, label_cost, plan,
             tool_version, created_at, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                version.id,
                p.policy_name,
                p.policy_digest,
                p.budget,
                p.label_cost,
                serde_json::to_string(p.plan).map_err(corrupt)?,
                crate::TOOL_VERSION,
                p.now,
                p.actor
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }
}
