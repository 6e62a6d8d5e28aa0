//! The gate as a use case: analysis (recorded or reused), lint against the dataset, drift, audit
//! evidence (read from the store), evaluation (recorded), all from one read of the policy file.

use chrono::NaiveDate;

use super::policy_file::{PolicyFile, analysis_params};
use super::{AppError, Stamp};
use crate::analysis::{self, service};
use crate::model::DatasetRef;
use crate::model::VersionInfo;
use crate::model::analysis::{AnalysisParams, AuditSummary, DriftReport, VersionAnalysis};
use crate::policy::{self, DatasetContext, Diagnostic, Evaluation, GateInput, GateVerdict, Policy};
use crate::storage::{NewEvaluation, Store};

/// What the gate is asked.
#[derive(Debug, Clone, Copy)]
pub struct GateRequest<'a> {
    pub policy: &'a PolicyFile,
    /// The date waivers are checked against.
    pub today: NaiveDate,
    /// Warnings (including unused waivers) fail the gate too.
    pub fail_on_warn: bool,
    /// Ignore recorded analyses.
    pub recompute: bool,
}

/// Everything a gate run produced.
#[derive(Debug)]
pub struct GateRun {
    pub analysis: VersionAnalysis,
    /// The policy as evaluated.
    pub policy: Policy,
    /// The policy's warnings against this dataset (each once).
    pub warnings: Vec<Diagnostic>,
    /// The audit evidence the gate read, per bucket.
    pub audits: Vec<AuditSummary>,
    pub evaluation: Evaluation,
    pub verdict: GateVerdict,
    /// Id of the recorded evaluation.
    pub evaluation_id: i64,
}

/// Runs the gate on `info` inside the caller's transaction (the records land with the rest of its
/// command's writes, or not at all).
pub fn run_gate(
    store: &mut Store,
    stamp: &Stamp,
    info: &VersionInfo,
    req: &GateRequest<'_>,
) -> Result<GateRun, AppError> {
    // The shape first (for the analysis parameters), then the lint with the dataset once the
    // analysis names its buckets; both from the one text read at the start.
    let params = analysis_params(&req.policy.shape()?);
    let (analysis, _) = service::cached(
        store,
        info,
        &params,
        req.recompute,
        &stamp.now(),
        stamp.actor(),
    )?;
    let dataset_ctx = DatasetContext::from_analysis(&analysis);
    let loaded = req.policy.load(Some(&dataset_ctx))?;
    let drift = drift(store, &loaded.policy, info, &params)?;
    let audits = crate::audit::audit_summaries(store, info)?;
    let input = GateInput {
        analysis: &analysis,
        drift: drift.as_ref(),
        audits: &audits,
        today: req.today,
        tool_version: crate::TOOL_VERSION,
        fail_on_warn: req.fail_on_warn,
    };
    let evaluation = policy::evaluate(&loaded.policy, &input)?;
    let verdict = evaluation.verdict(req.fail_on_warn);
    let exit_code = match verdict {
        GateVerdict::Pass => 0,
        GateVerdict::Fail => 1,
    };
    let findings = serde_json::to_value(&evaluation)?;
    let summary = serde_json::to_value(evaluation.counts)?;
    let evaluation_id = store.record_evaluation(
        info,
        &NewEvaluation {
            policy_name: &evaluation.policy.name,
            policy_digest: &evaluation.policy.digest,
            policy_path: Some(&req.policy.path.display().to_string()),
            exit_code,
            summary: &summary,
            findings: &findings,
            tool_version: crate::TOOL_VERSION,
            evaluated_on: &req.today.format("%Y-%m-%d").to_string(),
            now: &stamp.now(),
            actor: stamp.actor(),
        },
    )?;
    Ok(GateRun {
        analysis,
        policy: loaded.policy,
        warnings: loaded.warnings,
        audits,
        evaluation,
        verdict,
        evaluation_id,
    })
}

/// Drift of `info` against the policy's baseline, when a rule needs it.
pub fn drift(
    store: &Store,
    policy: &Policy,
    info: &VersionInfo,
    params: &AnalysisParams,
) -> Result<Option<DriftReport>, AppError> {
    if !policy.needs_drift() {
        return Ok(None);
    }
    let Some(base) = policy.baseline() else {
        return Ok(None);
    };
    let given = format!("{}@{}", base.dataset, base.version);
    let base_ref: DatasetRef = given
        .parse()
        .map_err(|source| AppError::Baseline { given, source })?;
    let base_info = store.resolve(&base_ref)?;
    let new_data = store.version_data(info)?;
    let base_data = store.version_data(&base_info)?;
    let new_an = service::compute(store, info, params)?;
    let base_an = service::compute(store, &base_info, params)?;
    Ok(Some(analysis::drift(
        (info, &new_data, &new_an),
        (&base_info, &base_data, &base_an),
    )?))
}
