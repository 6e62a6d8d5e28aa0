//! Recorded results: analyses (reused for equal parameters) and gate evaluations.
//!
//! Each row carries a binding: SHA-256 over the version's digest and the row's inputs and result,
//! as length-prefixed fields under a domain tag. A stored analysis is reused only when its binding
//! verifies, it was computed under the current registry head and its result names the version it
//! is stored for; anything else is recomputed. `verify_results` re-derives every binding, so an
//! edit made with plain SQL (a copied result, a changed exit code) is named by `store verify`.

use rusqlite::params;
use serde::Serialize;

use super::{Result, StorageError, Store};
use crate::model::VersionInfo;
use crate::model::analysis::VersionAnalysis;
use crate::model::digest::sha256_hex;

/// SHA-256 over a domain tag and length-prefixed fields (no two field lists hash alike).
pub(super) fn binding(domain: &str, fields: &[&str]) -> String {
    let mut text = format!("{domain}\n");
    for f in fields {
        text.push_str(&format!("{}:{f}\n", f.len()));
    }
    sha256_hex(text.as_bytes())
}

fn analysis_binding(
    version_digest: &str,
    params_key: &str,
    tool_version: &str,
    registry_head: &str,
    result: &str,
) -> String {
    binding(
        "overlap/analysis/v1",
        &[
            version_digest,
            params_key,
            tool_version,
            registry_head,
            result,
        ],
    )
}

#[allow(clippy::too_many_arguments)]
fn evaluation_binding(
    version_digest: &str,
    policy_name: &str,
    policy_digest: &str,
    exit_code: i32,
    summary: &str,
    findings: &str,
    tool_version: &str,
    evaluated_on: &str,
) -> String {
    binding(
        "overlap/evaluation/v1",
        &[
            version_digest,
            policy_name,
            policy_digest,
            &exit_code.to_string(),
            summary,
            findings,
            tool_version,
            evaluated_on,
        ],
    )
}

fn plan_binding(version_digest: &str, p: (&str, &str, Option<f64>, f64, &str, &str)) -> String {
    let (policy_name, policy_digest, budget, label_cost, plan, tool_version) = p;
    binding(
        "overlap/plan/v1",
        &[
            version_digest,
            policy_name,
            policy_digest,
            &budget.map_or("none".to_owned(), |b| format!("{b:?}")),
            &format!("{label_cost:?}"),
            plan,
            tool_version,
        ],
    )
}

/// Why a stored result fails verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenResult {
    /// `analysis`, `evaluation`, `verdict`, `plan` or `report`.
    pub kind: &'static str,
    pub id: i64,
    /// The version it is stored for, as `name@V`.
    pub version: String,
    pub reason: String,
}

impl BrokenResult {
    /// A row whose content no longer matches its binding.
    pub(super) fn altered(kind: &'static str, id: i64, version: String) -> BrokenResult {
        BrokenResult {
            kind,
            id,
            version,
            reason: "its content does not match its binding (the row was altered)".into(),
        }
    }
}

/// What `verify_results` checked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ResultsCheck {
    pub analyses: u64,
    pub evaluations: u64,
    pub verdicts: u64,
    pub plans: u64,
    pub reports: u64,
    /// Rows recorded before bindings existed (schema 7): never reused, not verifiable.
    pub unbound: u64,
    pub broken: Vec<BrokenResult>,
}

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
    /// Whether the row matches its binding: `false` when it was altered outside overlap, `None`
    /// for rows recorded before bindings existed.
    pub verified: Option<bool>,
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

/// Whether a stored analysis is the analysis of `version` (a copied row names another).
fn names_version(a: &VersionAnalysis, version: &VersionInfo) -> bool {
    a.dataset == version.dataset && a.version == version.version && a.digest == version.digest
}

fn corrupt(e: serde_json::Error) -> StorageError {
    StorageError::Corrupt(e.to_string())
}

impl Store {
    /// A stored analysis of `version` with exactly these parameters by this tool version, computed
    /// under the current registry head, whose binding verifies and whose result names this
    /// version; the newest such. A row that fails any check is never returned.
    pub fn find_analysis(
        &self,
        version: &VersionInfo,
        params_key: &str,
        tool_version: &str,
    ) -> Result<Option<VersionAnalysis>> {
        let head = self.registry_head()?;
        let mut stmt = self.conn.prepare(
            "SELECT result, binding FROM analyses WHERE version_id = ?1 AND params_key = ?2
             AND tool_version = ?3 AND registry_head = ?4 ORDER BY id DESC",
        )?;
        let mut rows = stmt.query(params![version.id, params_key, tool_version, head])?;
        while let Some(r) = rows.next()? {
            let text: String = r.get(0)?;
            let stored: Option<String> = r.get(1)?;
            let expected =
                analysis_binding(&version.digest, params_key, tool_version, &head, &text);
            if stored.as_deref() != Some(expected.as_str()) {
                continue;
            }
            let Ok(found) = serde_json::from_str::<VersionAnalysis>(&text) else {
                continue;
            };
            if names_version(&found, version) {
                return Ok(Some(found));
            }
        }
        Ok(None)
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
        let head = self.registry_head()?;
        let bound = analysis_binding(&version.digest, params_key, tool_version, &head, &json);
        self.conn.execute(
            "INSERT INTO analyses (version_id, params_key, tool_version, result, created_at,
             created_by, registry_head, binding)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                version.id,
                params_key,
                tool_version,
                json,
                now,
                actor,
                head,
                bound
            ],
        )?;
        Ok(())
    }

    /// Re-derives the binding of every recorded analysis and evaluation, and checks that each
    /// analysis names the version it is stored for.
    pub fn verify_results(&self) -> Result<ResultsCheck> {
        let mut check = ResultsCheck::default();
        let mut stmt = self.conn.prepare(
            "SELECT a.id, d.name, v.version, v.digest, a.params_key, a.tool_version,
                    a.registry_head, a.result, a.binding
             FROM analyses a JOIN dataset_versions v ON v.id = a.version_id
             JOIN datasets d ON d.id = v.dataset_id ORDER BY a.id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            check.analyses += 1;
            let id: i64 = r.get(0)?;
            let name: String = r.get(1)?;
            let number: u32 = r.get(2)?;
            let digest: String = r.get(3)?;
            let (key, tool, head, text): (String, String, Option<String>, String) =
                (r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?);
            let stored: Option<String> = r.get(8)?;
            let (Some(head), Some(stored)) = (head, stored) else {
                check.unbound += 1;
                continue;
            };
            let label = format!("{name}@{number}");
            if analysis_binding(&digest, &key, &tool, &head, &text) != stored {
                check
                    .broken
                    .push(BrokenResult::altered("analysis", id, label));
                continue;
            }
            let mut broken = |reason: String| {
                check.broken.push(BrokenResult {
                    kind: "analysis",
                    id,
                    version: label.clone(),
                    reason,
                })
            };
            match serde_json::from_str::<VersionAnalysis>(&text) {
                Ok(a) if a.dataset == name && a.version == number && a.digest == digest => {}
                Ok(a) => broken(format!(
                    "its result is the analysis of {}@{} ({}), not of this version",
                    a.dataset, a.version, a.digest
                )),
                Err(e) => broken(format!("its result is not an analysis: {e}")),
            }
        }
        // Evaluations and reports are checked by the listings that show them (each row carries
        // `verified`), so the check and what `gate history` / `report history` print agree.
        for dataset in self.datasets()? {
            for e in self.evaluations(&dataset.name)? {
                check.evaluations += 1;
                match e.verified {
                    None => check.unbound += 1,
                    Some(false) => check.broken.push(BrokenResult::altered(
                        "evaluation",
                        e.id,
                        format!("{}@{}", e.dataset, e.version),
                    )),
                    Some(true) => {}
                }
            }
            for r in self.reports(&dataset.name)? {
                check.reports += 1;
                match r.verified {
                    None => check.unbound += 1,
                    Some(false) => check.broken.push(BrokenResult::altered(
                        "report",
                        r.id,
                        format!("{}@{}", r.dataset, r.version),
                    )),
                    Some(true) => {}
                }
            }
        }
        self.verify_plans(&mut check)?;
        self.verify_verdicts(&mut check)?;
        Ok(check)
    }

    fn verify_plans(&self, check: &mut ResultsCheck) -> Result<()> {
        let mut stmt = self.conn.prepare(
            "SELECT p.id, d.name, v.version, v.digest, p.policy_name, p.policy_digest, p.budget,
                    p.label_cost, p.plan, p.tool_version, p.binding
             FROM plans p JOIN dataset_versions v ON v.id = p.version_id
             JOIN datasets d ON d.id = v.dataset_id ORDER BY p.id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            check.plans += 1;
            let Some(stored) = r.get::<_, Option<String>>(10)? else {
                check.unbound += 1;
                continue;
            };
            let expected = plan_binding(
                &r.get::<_, String>(3)?,
                (
                    &r.get::<_, String>(4)?,
                    &r.get::<_, String>(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    &r.get::<_, String>(8)?,
                    &r.get::<_, String>(9)?,
                ),
            );
            if expected != stored {
                let version = format!("{}@{}", r.get::<_, String>(1)?, r.get::<_, u32>(2)?);
                check
                    .broken
                    .push(BrokenResult::altered("plan", r.get(0)?, version));
            }
        }
        Ok(())
    }

    pub fn record_evaluation(
        &mut self,
        version: &VersionInfo,
        e: &NewEvaluation<'_>,
    ) -> Result<i64> {
        let summary = serde_json::to_string(e.summary).map_err(corrupt)?;
        let findings = serde_json::to_string(e.findings).map_err(corrupt)?;
        let bound = evaluation_binding(
            &version.digest,
            e.policy_name,
            e.policy_digest,
            e.exit_code,
            &summary,
            &findings,
            e.tool_version,
            e.evaluated_on,
        );
        self.conn.execute(
            "INSERT INTO evaluations (version_id, policy_name, policy_digest, policy_path, exit_code,
             summary, findings, tool_version, evaluated_on, created_at, created_by, binding)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                version.id,
                e.policy_name,
                e.policy_digest,
                e.policy_path,
                e.exit_code,
                summary,
                findings,
                e.tool_version,
                e.evaluated_on,
                e.now,
                e.actor,
                bound
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Evaluations of every version of a dataset, oldest first.
    pub fn evaluations(&self, dataset: &str) -> Result<Vec<EvaluationRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT e.id, d.name, v.version, v.digest, e.policy_name, e.policy_digest, e.policy_path,
                    e.exit_code, e.summary, e.tool_version, e.evaluated_on, e.created_at, e.created_by,
                    e.findings, e.binding
             FROM evaluations e JOIN dataset_versions v ON v.id = e.version_id
             JOIN datasets d ON d.id = v.dataset_id WHERE d.name = ?1 ORDER BY e.id",
        )?;
        let rows = stmt.query_map([dataset], |r| {
            let summary: String = r.get(8)?;
            let findings: String = r.get(13)?;
            let binding: Option<String> = r.get(14)?;
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
                    verified: None,
                },
                summary,
                findings,
                binding,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (mut rec, summary, findings, binding) = row?;
            rec.verified = binding.map(|stored| {
                evaluation_binding(
                    &rec.digest,
                    &rec.policy_name,
                    &rec.policy_digest,
                    rec.exit_code,
                    &summary,
                    &findings,
                    &rec.tool_version,
                    &rec.evaluated_on,
                ) == stored
            });
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
        let plan = serde_json::to_string(p.plan).map_err(corrupt)?;
        let bound = plan_binding(
            &version.digest,
            (
                p.policy_name,
                p.policy_digest,
                p.budget,
                p.label_cost,
                &plan,
                crate::TOOL_VERSION,
            ),
        );
        self.conn.execute(
            "INSERT INTO plans (version_id, policy_name, policy_digest, budget, label_cost, plan,
             tool_version, created_at, created_by, binding)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                version.id,
                p.policy_name,
                p.policy_digest,
                p.budget,
                p.label_cost,
                plan,
                crate::TOOL_VERSION,
                p.now,
                p.actor,
                bound
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }
}
