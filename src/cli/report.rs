//! `overlap report label|adequacy|templates|history`: render, sign and record reports.
//!
//! [`write_report`] is the library-style entry point (the demo calls it too): it runs the gate
//! through [`super::gate::run_gate`] (recording the evaluation), builds the view-model, renders it,
//! optionally signs it, writes the files and records the report in the store. The report's bytes
//! depend only on the store's content, the policy file, the date and the tool version: the clock
//! is read only for the store's `created_at` columns, never for the report body.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};

use super::gate::{PolicyFile, parse_date, policy_params, run_gate};
use super::output::{Format, print_json, table};
use super::{Context, Outcome};
use crate::analysis::service;
use crate::model::DatasetRef;
use crate::model::analysis::VersionAnalysis;
use crate::policy::GateVerdict;
use crate::report::design::{DesignInputs, design_sections};
use crate::report::render::{DEFAULT_TEMPLATES, ReportFormat, Templates, render};
use crate::report::signing::{self, PredicateType, SignedMeta};
use crate::report::view::{
    AdequacyInputs, Report, ReportInputs, ReportKind, build_adequacy, build_label,
};
use crate::storage::{NewReport, Store, VersionInfo};

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Dataset nutrition label: identity, per-bucket overlap and SLO verdicts, weakest directions,
    /// interventions, audits and waivers.
    Label(LabelArgs),
    /// Design-adequacy report: which directions the data identifies, audit evidence, the optimal
    /// intervention mixture and the budget plan that would close the gaps.
    Adequacy(AdequacyArgs),
    /// Write the embedded default templates to a folder, as a starting point for --templates.
    Templates {
        /// The folder to write into (created if missing).
        #[arg(long)]
        output: PathBuf,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// List the reports produced for a dataset.
    History {
        name: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormatArg {
    Md,
    Html,
    Json,
}

impl ReportFormatArg {
    fn to_format(self) -> ReportFormat {
        match self {
            ReportFormatArg::Md => ReportFormat::Markdown,
            ReportFormatArg::Html => ReportFormat::Html,
            ReportFormatArg::Json => ReportFormat::Json,
        }
    }
}

/// Options shared by both reports.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// NAME or NAME@V (default: the latest version).
    pub dataset: String,
    /// The YAML overlap-SLO policy the report evaluates.
    #[arg(long)]
    pub policy: PathBuf,
    /// md, html or json (default: from the --output extension).
    #[arg(long, value_enum)]
    pub format: Option<ReportFormatArg>,
    /// The report file to write (signatures go next to it: FILE.sig, FILE.intoto.json).
    #[arg(long)]
    pub output: PathBuf,
    /// The report date, also the date waivers are checked against (default: today, UTC).
    #[arg(long)]
    pub date: Option<String>,
    /// Sign with this secret key (from `overlap key generate`): writes FILE.sig and
    /// FILE.intoto.json.
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    /// Render with the templates in this folder instead of the embedded defaults.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Ignore recorded analyses.
    #[arg(long)]
    pub recompute: bool,
}

#[derive(Debug, Args)]
pub struct LabelArgs {
    #[command(flatten)]
    pub common: ReportArgs,
}

#[derive(Debug, Args)]
pub struct AdequacyArgs {
    #[command(flatten)]
    pub common: ReportArgs,
    /// Label budget for the plan (in the registry's cost unit); without it the plan is the
    /// cheapest one that meets every target.
    #[arg(long)]
    pub budget: Option<f64>,
}

/// What to produce; the library-facing form of `report label|adequacy`.
#[derive(Debug, Clone, Copy)]
pub struct ReportRequest<'a> {
    /// Nutrition label or design-adequacy report.
    pub kind: ReportKind,
    /// The policy file evaluated (its digest is signed; its file name is shown).
    pub policy: &'a Path,
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
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// A file written under a temporary name next to its destination, renamed into place by
/// [`Staged::commit`] (or removed when dropped uncommitted), so that a failure part-way leaves
/// neither a half-written file nor a report without the signature it was meant to have.
pub(crate) struct Staged {
    tmp: PathBuf,
    path: PathBuf,
    committed: bool,
}

impl Staged {
    pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<Staged> {
        use std::io::Write;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .with_context(|| format!("{} is not a file name", path.display()))?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(".tmp");
        let staged = Staged {
            tmp: dir.join(tmp_name),
            path: path.to_path_buf(),
            committed: false,
        };
        let mut f = std::fs::File::create(&staged.tmp)
            .with_context(|| format!("cannot write {}", path.display()))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(staged)
    }

    pub(crate) fn commit(mut self) -> Result<()> {
        std::fs::rename(&self.tmp, &self.path)
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Analyses of the versions before `info` with `params` (oldest first), for the λ_min history.
fn earlier_analyses(
    ctx: &Context,
    store: &mut Store,
    info: &VersionInfo,
    params: &crate::model::analysis::AnalysisParams,
    recompute: bool,
) -> Result<Vec<VersionAnalysis>> {
    let mut out = Vec::new();
    for v in store.versions(&info.dataset)? {
        if v.version >= info.version {
            continue;
        }
        let (a, _) = service::cached(store, &v, params, recompute, &ctx.now(), &ctx.actor)
            .with_context(|| format!("cannot analyse {} for the λ_min history", v.label()))?;
        out.push(a);
    }
    Ok(out)
}

/// Renders, signs (optionally), writes and records one report of `info`.
///
/// Arguments: `ctx` gives the actor and the clock for the store's records; `store` is the open
/// database (the gate's evaluation, any new analyses and the report record are written to it);
/// `info` is the dataset version; `req` says which report, in which format, where, for which date
/// and with which key and templates. Errors (unreadable policy or key, broken template, store
/// failure) leave no partial report file behind.
pub fn write_report(
    ctx: &Context,
    store: &mut Store,
    info: &VersionInfo,
    req: &ReportRequest<'_>,
) -> Result<WrittenReport> {
    // Read the key first: a wrong key path should fail before any work is recorded.
    let secret = req
        .secret_key
        .map(|path| -> Result<signing::SecretKey> {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read secret key {}", path.display()))?;
            signing::parse_secret_key(&text)
                .with_context(|| format!("{} is not an overlap secret key", path.display()))
        })
        .transpose()?;
    let templates = match req.templates {
        Some(dir) => Templates::Dir(dir.to_path_buf()),
        None => Templates::Embedded,
    };
    let report_name = req
        .output
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{} is not a UTF-8 file name", req.output.display()))?
        .to_owned();

    let policy_file = PolicyFile::read(req.policy)?;
    // One transaction for the analysis, the evaluation and the report record; the files are
    // staged inside it and moved into place only after the commit.
    let (written, staged) = store.atomically(|store| {
        stage_report(
            ctx,
            store,
            info,
            req,
            &policy_file,
            secret.as_ref(),
            &templates,
            &report_name,
        )
    })?;
    for file in staged {
        file.commit()?;
    }
    if written.signature.is_none() {
        // A signature of an earlier report at this path would no longer match: remove it
        // rather than leave a file that makes `overlap verify` fail for a confusing reason.
        for stale in [
            with_suffix(req.output, ".sig"),
            with_suffix(req.output, ".intoto.json"),
        ] {
            if stale.exists() {
                std::fs::remove_file(&stale)
                    .with_context(|| format!("cannot remove stale {}", stale.display()))?;
                eprintln!("removed stale {}", stale.display());
            }
        }
    }
    Ok(written)
}

/// Everything of a report inside the command's transaction: gate, view, render, signatures,
/// staged files and the report record.
#[allow(clippy::too_many_arguments)]
fn stage_report(
    ctx: &Context,
    store: &mut Store,
    info: &VersionInfo,
    req: &ReportRequest<'_>,
    policy_file: &PolicyFile,
    secret: Option<&signing::SecretKey>,
    templates: &Templates,
    report_name: &str,
) -> Result<(WrittenReport, Vec<Staged>)> {
    let label = policy_file.label.clone();
    let audits = super::audit_summaries(store, info)?;
    let run = run_gate(
        ctx,
        store,
        info,
        policy_file,
        req.date,
        false,
        req.recompute,
        &audits,
    )?;
    let policy = &run.policy;
    let params = policy_params(policy);
    let history = earlier_analyses(ctx, store, info, &params, req.recompute)?;
    let interventions = store.interventions()?;
    let registry_head = store.registry_head()?;
    let policy_file = req
        .policy
        .file_name()
        .map_or_else(|| label.clone(), |n| n.to_string_lossy().into_owned());
    let inputs = ReportInputs {
        analysis: &run.analysis,
        evaluation: &run.evaluation,
        policy_file: &policy_file,
        audits: &audits,
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
    let text = render(&report, req.format, templates)?;
    let bytes = text.as_bytes();
    let sha256 = signing::sha256_hex(bytes);

    let signed = secret
        .map(|key| -> Result<(String, String, String)> {
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
                report_name,
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
            now: &ctx.now(),
            actor: &ctx.actor,
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
        },
        staged,
    ))
}

fn produce(
    ctx: &Context,
    kind: ReportKind,
    args: &ReportArgs,
    budget: Option<f64>,
) -> Result<Outcome> {
    let format = match args.format {
        Some(f) => f.to_format(),
        None => ReportFormat::from_path(&args.output).with_context(|| {
            format!(
                "cannot tell the format from {}: pass --format md, html or json",
                args.output.display()
            )
        })?,
    };
    if let Some(b) = budget {
        if !(b.is_finite() && b >= 0.0) {
            bail!("--budget must be a finite, non-negative number (got {b})");
        }
    }
    let date = match &args.date {
        Some(s) => parse_date(s)?,
        None => ctx.today(),
    };
    let dataset: DatasetRef = args
        .dataset
        .parse()
        .with_context(|| format!("'{}' is not NAME or NAME@N", args.dataset))?;
    let mut store = ctx.open()?;
    let info = store.resolve(&dataset)?;
    let written = write_report(
        ctx,
        &mut store,
        &info,
        &ReportRequest {
            kind,
            policy: &args.policy,
            format,
            output: &args.output,
            date,
            secret_key: args.sign.as_deref(),
            templates: args.templates.as_deref(),
            budget,
            recompute: args.recompute,
        },
    )?;
    println!(
        "wrote {} of {} ({}, gate {}) to {}",
        kind.name(),
        info.label(),
        format.name(),
        match written.verdict {
            GateVerdict::Pass => "pass",
            GateVerdict::Fail => "FAIL",
        },
        written.path.display()
    );
    println!(
        "  sha256 {} (recorded as report {})",
        written.sha256, written.record_id
    );
    if let (Some(sig), Some(att), Some(fp)) = (
        &written.signature,
        &written.attestation,
        &written.key_fingerprint,
    ) {
        println!("  signed: {} and {}", sig.display(), att.display());
        println!("  key fingerprint {fp}");
    }
    Ok(Outcome::Success)
}

fn write_templates(output: &Path, force: bool) -> Result<Outcome> {
    std::fs::create_dir_all(output)
        .with_context(|| format!("cannot create {}", output.display()))?;
    if !force {
        for (name, _) in DEFAULT_TEMPLATES {
            let p = output.join(name);
            if p.exists() {
                bail!("{} already exists (pass --force to overwrite)", p.display());
            }
        }
    }
    for (name, source) in DEFAULT_TEMPLATES {
        let p = output.join(name);
        std::fs::write(&p, source).with_context(|| format!("cannot write {}", p.display()))?;
        println!("wrote {}", p.display());
    }
    Ok(Outcome::Success)
}

fn history(ctx: &Context, name: &str, format: Format) -> Result<Outcome> {
    let store = ctx.open()?;
    store.versions(name)?;
    let records = store.reports(name)?;
    match format {
        Format::Json => print_json(&records)?,
        Format::Human => {
            if records.is_empty() {
                println!("no reports recorded for {name}");
                return Ok(Outcome::Success);
            }
            let rows: Vec<Vec<String>> = records
                .iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        format!("{}@{}", r.dataset, r.version),
                        r.kind.clone(),
                        r.format.clone(),
                        r.report_date.clone(),
                        r.verdict.clone(),
                        r.report_sha256.chars().take(12).collect(),
                        r.key_fingerprint.as_deref().map_or_else(
                            || "unsigned".to_owned(),
                            |f| f.chars().take(12).collect(),
                        ),
                        r.file.clone(),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(
                    &[
                        "id",
                        "version",
                        "kind",
                        "format",
                        "date",
                        "gate",
                        "sha256",
                        "signed by",
                        "file"
                    ],
                    &rows
                )
            );
        }
    }
    Ok(Outcome::Success)
}

pub fn run(ctx: &Context, cmd: ReportCommand) -> Result<Outcome> {
    match cmd {
        ReportCommand::Label(args) => produce(ctx, ReportKind::NutritionLabel, &args.common, None),
        ReportCommand::Adequacy(args) => {
            produce(ctx, ReportKind::DesignAdequacy, &args.common, args.budget)
        }
        ReportCommand::Templates { output, force } => write_templates(&output, force),
        ReportCommand::History { name, format } => history(ctx, &name, format),
    }
}
