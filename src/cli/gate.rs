//! `overlap gate` (the pre-deployment overlap-SLO gate), `gate history` and `policy lint`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use super::output::{Format, print_json, table};
use super::{Context, Outcome};
use crate::analysis::{self, service};
use crate::model::DatasetRef;
use crate::model::analysis::{AnalysisParams, AuditSummary, DriftReport, VersionAnalysis};
use crate::policy::{self, DatasetContext, GateFormat, GateInput, GateVerdict, Policy};
use crate::storage::{NewEvaluation, Store, VersionInfo};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GateFormatArg {
    Human,
    Json,
    Junit,
    Sarif,
    Github,
    Markdown,
}

impl GateFormatArg {
    fn to_format(self) -> GateFormat {
        match self {
            GateFormatArg::Human => GateFormat::Human,
            GateFormatArg::Json => GateFormat::Json,
            GateFormatArg::Junit => GateFormat::Junit,
            GateFormatArg::Sarif => GateFormat::Sarif,
            GateFormatArg::Github => GateFormat::Github,
            GateFormatArg::Markdown => GateFormat::Markdown,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Only failing deny rules fail the gate (the default).
    Deny,
    /// Warnings (including unused waivers) fail the gate too.
    Warn,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct GateArgs {
    #[command(subcommand)]
    pub command: Option<GateSubcommand>,
    /// NAME or NAME@V.
    #[arg(required = true)]
    pub dataset: Option<String>,
    /// The YAML overlap-SLO policy.
    #[arg(long, required = true)]
    pub policy: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: GateFormatArg,
    /// Write the result here instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// The date waivers are checked against (default: today, UTC).
    #[arg(long)]
    pub today: Option<String>,
    #[arg(long, value_enum, default_value = "deny")]
    pub fail_on: FailOn,
    /// Ignore recorded analyses.
    #[arg(long)]
    pub recompute: bool,
}

#[derive(Debug, Subcommand)]
pub enum GateSubcommand {
    /// List recorded gate evaluations of a dataset.
    History {
        name: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Report every problem of a policy file at once (exit 2 when any is an error).
    Lint {
        file: PathBuf,
        /// Also check features, buckets and interventions against this dataset version.
        #[arg(long)]
        dataset: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

pub fn parse_date(s: &str) -> Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| format!("'{s}' is not a date: expected YYYY-MM-DD"))
}

pub fn read_policy(path: &Path) -> Result<(String, String)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read policy {}", path.display()))?;
    Ok((path.display().to_string(), text))
}

/// A policy file read once per command: the text every later step (analysis parameters, lint
/// against the dataset, evaluation, the digest in records) uses, so a file edited mid-command
/// cannot mix two versions and its warnings print once.
pub struct PolicyFile {
    pub path: std::path::PathBuf,
    pub label: String,
    pub text: String,
}

impl PolicyFile {
    pub fn read(path: &Path) -> Result<PolicyFile> {
        let (label, text) = read_policy(path)?;
        Ok(PolicyFile {
            path: path.to_path_buf(),
            label,
            text,
        })
    }

    /// The policy's shape without the dataset (for the analysis parameters it asks for). Prints
    /// nothing; a policy with errors fails with every problem the lint finds.
    pub fn shape(&self) -> Result<Policy> {
        match policy::parse(&self.label, &self.text) {
            Ok(p) => Ok(p),
            Err(_) => Err(
                lint_errors(&self.label, &policy::lint(&self.label, &self.text, None))
                    .unwrap_or_else(|| anyhow!("policy {} cannot be parsed", self.label)),
            ),
        }
    }

    /// Lints against the dataset, printing the warnings (once), and parses; errors (all of them)
    /// abort.
    pub fn load(&self, ctx: Option<&DatasetContext>) -> Result<Policy> {
        let diagnostics = policy::lint(&self.label, &self.text, ctx);
        for d in diagnostics.iter().filter(|d| !d.is_error()) {
            eprintln!("{d}");
        }
        if let Some(err) = lint_errors(&self.label, &diagnostics) {
            return Err(err);
        }
        policy::parse(&self.label, &self.text).map_err(|d| {
            anyhow!(
                "{}",
                d.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
    }
}

fn lint_errors(label: &str, diagnostics: &[policy::Diagnostic]) -> Option<anyhow::Error> {
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.to_string())
        .collect();
    (!errors.is_empty()).then(|| {
        anyhow!(
            "{}\npolicy {label} has {} error(s); the gate did not run",
            errors.join("\n"),
            errors.len()
        )
    })
}

/// The analysis parameters a policy asks for (its `analysis:` settings and the pairs it names).
pub fn policy_params(policy: &Policy) -> AnalysisParams {
    let s = policy.analysis_settings();
    AnalysisParams {
        ridge: s.ridge.as_ref().map_or(1e-4, |r| r.value),
        info_ridge: s.info_ridge.as_ref().map_or(0.0, |r| r.value),
        fit: s.fit.as_ref().map_or_else(Default::default, |f| f.value),
        pairs: policy.feature_pairs(),
        scopes: policy.scopes(),
    }
}

/// Drift of `info` against the policy's baseline, when a rule needs it.
pub fn policy_drift(
    store: &Store,
    policy: &Policy,
    info: &VersionInfo,
    params: &AnalysisParams,
) -> Result<Option<DriftReport>> {
    if !policy.needs_drift() {
        return Ok(None);
    }
    let Some(base) = policy.baseline() else {
        return Ok(None);
    };
    let base_ref: DatasetRef = format!("{}@{}", base.dataset, base.version)
        .parse()
        .with_context(|| format!("policy baseline '{base}' is not NAME@V"))?;
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

/// Everything a gate run produced.
pub struct GateRun {
    pub analysis: VersionAnalysis,
    /// The policy as evaluated (parsed once from the file's text read at the start).
    pub policy: Policy,
    pub evaluation: policy::Evaluation,
    pub verdict: GateVerdict,
}

/// Runs the gate as a library call: analysis (recorded), drift, audits, evaluation (recorded).
/// The caller decides the transaction: the records land with the rest of its command's writes.
#[allow(clippy::too_many_arguments)]
pub fn run_gate(
    ctx: &Context,
    store: &mut Store,
    info: &VersionInfo,
    policy_file: &PolicyFile,
    today: chrono::NaiveDate,
    fail_on_warn: bool,
    recompute: bool,
    audits: &[AuditSummary],
) -> Result<GateRun> {
    // The shape first (for the analysis parameters), then the lint with the dataset once the
    // analysis names its buckets; both from the one text read at the start.
    let params = policy_params(&policy_file.shape()?);
    let (analysis, _) = service::cached(store, info, &params, recompute, &ctx.now(), &ctx.actor)?;
    let dataset_ctx = DatasetContext::from_analysis(&analysis);
    let policy = policy_file.load(Some(&dataset_ctx))?;
    let drift = policy_drift(store, &policy, info, &params)?;
    let input = GateInput {
        analysis: &analysis,
        drift: drift.as_ref(),
        audits,
        today,
        tool_version: crate::TOOL_VERSION,
        fail_on_warn,
    };
    let evaluation = policy::evaluate(&policy, &input)?;
    let verdict = evaluation.verdict(fail_on_warn);
    let exit_code = match verdict {
        GateVerdict::Pass => 0,
        GateVerdict::Fail => 1,
    };
    let findings = serde_json::to_value(&evaluation)?;
    let summary = serde_json::to_value(evaluation.counts)?;
    store.record_evaluation(
        info,
        &NewEvaluation {
            policy_name: &evaluation.policy.name,
            policy_digest: &evaluation.policy.digest,
            policy_path: Some(&policy_file.path.display().to_string()),
            exit_code,
            summary: &summary,
            findings: &findings,
            tool_version: crate::TOOL_VERSION,
            evaluated_on: &today.format("%Y-%m-%d").to_string(),
            now: &ctx.now(),
            actor: &ctx.actor,
        },
    )?;
    Ok(GateRun {
        analysis,
        policy,
        evaluation,
        verdict,
    })
}

pub fn run(ctx: &Context, args: GateArgs) -> Result<Outcome> {
    if let Some(GateSubcommand::History { name, format }) = args.command {
        let store = ctx.open()?;
        store.versions(&name)?;
        let records = store.evaluations(&name)?;
        match format {
            Format::Json => print_json(&records)?,
            Format::Human => {
                if records.is_empty() {
                    println!("no gate evaluations recorded for {name}");
                }
                let rows: Vec<Vec<String>> = records
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.to_string(),
                            format!("{}@{}", r.dataset, r.version),
                            r.policy_name.clone(),
                            r.policy_digest[..12.min(r.policy_digest.len())].to_string(),
                            if r.exit_code == 0 { "pass" } else { "FAIL" }.to_string(),
                            r.evaluated_on.clone(),
                            r.created_at.clone(),
                            r.created_by.clone(),
                        ]
                    })
                    .collect();
                if !rows.is_empty() {
                    print!(
                        "{}",
                        table(
                            &[
                                "id",
                                "version",
                                "policy",
                                "policy digest",
                                "verdict",
                                "evaluated on",
                                "at",
                                "by"
                            ],
                            &rows
                        )
                    );
                }
            }
        }
        return Ok(Outcome::Success);
    }
    let dataset = args
        .dataset
        .context("the gate needs a dataset: overlap gate NAME[@V] --policy FILE")?;
    let policy_path = args.policy.context("the gate needs --policy FILE")?;
    let dataset: DatasetRef = dataset
        .parse()
        .with_context(|| format!("'{dataset}' is not NAME or NAME@N"))?;
    let today = match &args.today {
        Some(s) => parse_date(s)?,
        None => ctx.today(),
    };
    let policy_file = PolicyFile::read(&policy_path)?;
    let mut store = ctx.open()?;
    let info = store.resolve(&dataset)?;
    let audits = crate::cli::audit_summaries(&store, &info)?;
    // One transaction: the analysis and the evaluation are recorded only if the output file can
    // be staged too; the file is moved into place after the commit.
    let (run, staged) = store.atomically(|store| -> Result<_> {
        let run = run_gate(
            ctx,
            store,
            &info,
            &policy_file,
            today,
            args.fail_on == FailOn::Warn,
            args.recompute,
            &audits,
        )?;
        let text = policy::render(&run.evaluation, args.format.to_format());
        let staged = match &args.output {
            Some(path) => Some(super::report::Staged::write(path, text.as_bytes())?),
            None => {
                print!("{text}");
                None
            }
        };
        Ok((run, staged))
    })?;
    if let (Some(staged), Some(path)) = (staged, &args.output) {
        staged.commit()?;
        eprintln!(
            "gate {}: {} → {}",
            match run.verdict {
                GateVerdict::Pass => "passed",
                GateVerdict::Fail => "FAILED",
            },
            info.label(),
            path.display()
        );
    }
    Ok(match run.verdict {
        GateVerdict::Pass => Outcome::Success,
        GateVerdict::Fail => Outcome::Failure,
    })
}

#[derive(Serialize)]
struct LintReport<'a> {
    file: String,
    errors: usize,
    warnings: usize,
    diagnostics: &'a [policy::Diagnostic],
}

pub fn run_policy(ctx: &Context, cmd: PolicyCommand) -> Result<Outcome> {
    match cmd {
        PolicyCommand::Lint {
            file,
            dataset,
            format,
        } => {
            let (label, text) = read_policy(&file)?;
            let dataset_ctx = match dataset {
                None => None,
                Some(d) => {
                    let r: DatasetRef = d
                        .parse()
                        .with_context(|| format!("'{d}' is not NAME or NAME@N"))?;
                    let mut store = ctx.open()?;
                    let info = store.resolve(&r)?;
                    // Analyze with the policy's own settings when it parses, so buckets, arms
                    // and interventions are those the gate will see.
                    let params = policy::parse(&label, &text)
                        .map(|p| policy_params(&p))
                        .unwrap_or_else(|_| AnalysisParams {
                            ridge: 1e-4,
                            info_ridge: 0.0,
                            fit: Default::default(),
                            pairs: Vec::new(),
                            scopes: Vec::new(),
                        });
                    let params = AnalysisParams {
                        pairs: Vec::new(),
                        scopes: Vec::new(),
                        ..params
                    };
                    let (analysis, _) =
                        service::cached(&mut store, &info, &params, false, &ctx.now(), &ctx.actor)?;
                    Some(DatasetContext::from_analysis(&analysis))
                }
            };
            let diagnostics = policy::lint(&label, &text, dataset_ctx.as_ref());
            let errors = diagnostics.iter().filter(|d| d.is_error()).count();
            let warnings = diagnostics.len() - errors;
            match format {
                Format::Json => print_json(&LintReport {
                    file: label.clone(),
                    errors,
                    warnings,
                    diagnostics: &diagnostics,
                })?,
                Format::Human => {
                    for d in &diagnostics {
                        println!("{d}");
                    }
                    println!("{label}: {errors} error(s), {warnings} warning(s)");
                }
            }
            if errors > 0 {
                bail!("policy {label} has {errors} error(s)");
            }
            Ok(Outcome::Success)
        }
    }
}
