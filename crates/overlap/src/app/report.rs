//! Reports as a use case: gate, view-model, render, sign (optionally), stage the files and record
//! the report, all in one transaction.
//!
//! The report's bytes depend only on the store's content, the policy file, the date and the tool
//! version: the clock is read only for the store's `created_at` columns, never for the body.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::gate::{GateRequest, run_gate};
use super::policy_file::{PolicyFile, analysis_params};
use super::staging::{self, Staged};
use super::{AppError, Stamp};
use crate::analysis::service;
use crate::model::VersionInfo;
use crate::model::analysis::{AnalysisParams, VersionAnalysis};
use crate::policy::{Diagnostic, GateVerdict};
use crate::report::render::{ReportFormat, Templates, render};
use crate::report::signing::{self, PredicateType, SignedMeta};
use crate::report::solver_sections::{DesignInputs, design_sections};
use crate::report::view::{
    AdequacyInputs, Report, ReportInputs, ReportKind, build_adequacy, build_label,
};
use crate::storage::{NewReport, Store};

/// What to produce.
#[derive(Debug, Clone, Copy)]
pub struct ReportRequest<'a> {
    /// Nutrition label or design-adequacy report.
    pub kind: ReportKind,
    /// The policy evaluated (its digest is signed; its file name is shown).
    pub policy: &'a PolicyFile,
    pub format: ReportFormat,
    /// The report file; an existing file is replaced.
    pub output: &'a Path,
    /// The report date (waivers are checked against it; no clock is read for the body).
    pub date: NaiveDate,
    /// Secret key file to sign with; `None` writes an unsigned report and removes a stale
    /// `FILE.sig`/`FILE.intoto.json` left by an earlier signed one.
    pub secret_key: Option<&'a Path>,
    /// Template folder replacing the embedded defaults.
    pub templates: Option<&'a Path>,
    /// Budget for the adequacy report's plan.
    pub budget: Option<f64>,
    /// Ignore recorded analyses.
    pub recompute: bool,
}

/// What [`write_report`] wrote.
#[derive(Debug, Clone)]
pub struct WrittenReport {
    pub path: PathBuf,
    /// SHA-256 of the report bytes.
    pub sha256: String,
    pub signature: Option<PathBuf>,
    pub attestation: Option<PathBuf>,
    pub key_fingerprint: Option<String>,
    /// The gate verdict the report shows.
    pub verdict: GateVerdict,
    /// Id of the store's record of the report.
    pub record_id: i64,
    /// The policy's warnings against this dataset.
    pub warnings: Vec<Diagnostic>,
    /// Signature files of an earlier signed report at this path, removed because they no longer
    /// match.
    pub removed_stale: Vec<PathBuf>,
}

/// Renders, signs (optionally), writes and records one report of `info`. Errors (unreadable
/// key, broken template, store failure, unwritable output) leave no record and no file.
pub fn write_report(
    store: &mut Store,
    stamp: &Stamp,
    info: &VersionInfo,
    req: &ReportRequest<'_>,
) -> Result<WrittenReport, AppError> {
    // Read the key first: a wrong key path should fail before any work is done.
    let secret = req.secret_key.map(read_secret_key).transpose()?;
    let templates = match req.templates {
        Some(dir) => Templates::Dir(dir.to_path_buf()),
        None => Templates::Embedded,
    };
    let (mut written, staged) = store
        .atomically(|store| stage_report(store, stamp, info, req, secret.as_ref(), &templates))?;
    staging::commit_all(staged)?;
    if written.signature.is_none() {
        // A signature of an earlier report at this path would no longer match: remove it
        // rather than leave a file that makes `overlap verify` fail for a confusing reason.
        for stale in [
            with_suffix(req.output, ".sig"),
            with_suffix(req.output, ".intoto.json"),
        ] {
            if stale.exists() {
                std::fs::remove_file(&stale).map_err(|source| AppError::Write {
                    path: stale.clone(),
                    source,
                })?;
                written.removed_stale.push(stale);
            }
        }
    }
    Ok(written)
}

/// Reads and parses a secret key file (its bytes never reach an error message).
pub fn read_secret_key(path: &Path) -> Result<signing::SecretKey, AppError> {
    let text = std::fs::read_to_string(path).map_err(|source| AppError::Read {
        what: "secret key",
        path: path.to_path_buf(),
        source,
    })?;
    signing::parse_secret_key(&text).map_err(|source| AppError::Key {
        path: path.to_path_buf(),
        source,
    })
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Analyses of the versions before `info` with `params` (oldest first), for the λ_min history.
fn earlier_analyses(
    store: &mut Store,
    stamp: &Stamp,
    info: &VersionInfo,
    params: &AnalysisParams,
    recompute: bool,
) -> Result<Vec<VersionAnalysis>, AppError> {
    let mut out = Vec::new();
    for v in store.versions(&info.dataset)? {
        if v.version >= info.version {
            continue;
        }
        let (a, _) = service::cached(store, &v, params, recompute, &stamp.now(), stamp.actor())
            .map_err(|e| AppError::History {
                version: v.label(),
                source: Box::new(e.into()),
            })?;
        out.push(a);
    }
    Ok(out)
}

/// The gate run and the report's view model (inside the caller's transaction).
pub(super) fn gate_and_view(
    store: &mut Store,
    stamp: &Stamp,
    info: &VersionInfo,
    req: &ReportRequest<'_>,
) -> Result<(super::gate::GateRun, Report), AppError> {
    let run = run_gate(
        store,
        stamp,
        info,
        &GateRequest {
            policy: req.policy,
            today: req.date,
            fail_on_warn: false,
            recompute: req.recompute,
        },
    )?;
    let policy = &run.policy;
    let params = analysis_params(policy);
    let history = earlier_analyses(store, stamp, info, &params, req.recompute)?;
    let interventions = store.interventions()?;
    let registry_head = store.registry_head()?;
    let policy_file = req.policy.path.file_name().map_or_else(
        || req.policy.label.clone(),
        |n| n.to_string_lossy().into_owned(),
    );
    let inputs = ReportInputs {
        analysis: &run.analysis,
        evaluation: &run.evaluation,
        policy_file: &policy_file,
        audits: &run.audits,
        interventions: &interventions,
        registry_head: &registry_head,
        parent: info.parent,
        history: &history,
        tool_version: crate::TOOL_VERSION,
    };
    let report = match req.kind {
        ReportKind::NutritionLabel => Report::Label(Box::new(build_label(&inputs)?)),
        ReportKind::DesignAdequacy => {
            let analyzed = service::compute(store, info, &params)?;
            let registry = service::registry_view(store)?;
            let active: Vec<String> = interventions
                .iter()
                .filter(|i| i.retired.is_none())
                .map(|i| i.name.clone())
                .collect();
            let candidates = crate::design::candidate_arms(&active);
            let (design, plan) = design_sections(&DesignInputs {
                analyzed: &analyzed,
                policy,
                registry: &registry,
                candidate_arms: &candidates,
                budget: req.budget,
            });
            let adequacy = AdequacyInputs {
                base: inputs,
                analyzed: &analyzed,
                budget: req.budget,
            };
            Report::Adequacy(Box::new(build_adequacy(&adequacy, design, plan)?))
        }
    };
    Ok((run, report))
}

/// Everything of a report inside the command's transaction: gate, view, render, signatures,
/// staged files and the report record.
fn stage_report(
    store: &mut Store,
    stamp: &Stamp,
    info: &VersionInfo,
    req: &ReportRequest<'_>,
    secret: Option<&signing::SecretKey>,
    templates: &Templates,
) -> Result<(WrittenReport, Vec<Staged>), AppError> {
    let report_name = req
        .output
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| AppError::NotAFileName {
            path: req.output.to_path_buf(),
        })?
        .to_owned();
    let (run, report) = gate_and_view(store, stamp, info, req)?;
    let text = render(&report, req.format, templates)?;
    let bytes = text.as_bytes();
    let sha256 = signing::sha256_hex(bytes);

    let signed = secret
        .map(|key| -> Result<(String, String, String), AppError> {
            let meta = SignedMeta {
                dataset_digest: info.digest.clone(),
                policy_digest: Some(run.evaluation.policy.digest.clone()),
                tool_version: crate::TOOL_VERSION.to_owned(),
            };
            let signature = signing::sign_report(bytes, key, &meta)?;
            let predicate_type = match req.kind {
                ReportKind::NutritionLabel => PredicateType::NutritionLabel,
                ReportKind::DesignAdequacy => PredicateType::DesignAdequacy,
            };
            let subject = signing::dataset_subject_name(&info.dataset, info.version);
            let attestation = signing::attest(
                &report_name,
                bytes,
                (&subject, &info.digest),
                predicate_type,
                report.verdict_summary(req.format.name()),
                key,
            )?;
            Ok((signature, attestation, key.public_key().fingerprint()))
        })
        .transpose()?;

    let sig_path = with_suffix(req.output, ".sig");
    let att_path = with_suffix(req.output, ".intoto.json");
    // Stage every file before recording anything, so the report never lands without its
    // signature or its record.
    let mut staged = vec![Staged::write(req.output, bytes)?];
    let (signature, attestation, fingerprint) = match signed {
        Some((sig, att, fingerprint)) => {
            staged.push(Staged::write(&sig_path, sig.as_bytes())?);
            staged.push(Staged::write(&att_path, att.as_bytes())?);
            (Some(sig_path), Some(att_path), Some(fingerprint))
        }
        None => (None, None, None),
    };
    let verdict = run.verdict;
    let record_id = store.record_report(
        info,
        &NewReport {
            kind: req.kind.name(),
            format: req.format.name(),
            file: &req.output.display().to_string(),
            report_sha256: &sha256,
            key_fingerprint: fingerprint.as_deref(),
            policy_name: &run.evaluation.policy.name,
            policy_digest: &run.evaluation.policy.digest,
            report_date: &req.date.format("%Y-%m-%d").to_string(),
            verdict: match verdict {
                GateVerdict::Pass => "pass",
                GateVerdict::Fail => "fail",
            },
            tool_version: crate::TOOL_VERSION,
            now: &stamp.now(),
            actor: stamp.actor(),
        },
    )?;
    Ok((
        WrittenReport {
            path: req.output.to_path_buf(),
            sha256,
            signature,
            attestation,
            key_fingerprint: fingerprint,
            verdict,
            record_id,
            warnings: run.warnings,
            removed_stale: Vec::new(),
        },
        staged,
    ))
}
