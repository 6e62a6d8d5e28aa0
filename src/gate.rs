//! `overlap gate` (the pre-deployment overlap-SLO gate), `gate history` and `policy lint`.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use super::output::{Format, print_json, table};
use super::{Context, Outcome};
use overlap::analysis::service;
use overlap::app::AppError;
use overlap::app::gate::{GateRequest, run_gate};
use overlap::app::policy_file::{PolicyFile, analysis_params};
use overlap::app::staging::Staged;
use overlap::model::DatasetRef;
use overlap::model::analysis::AnalysisParams;
use overlap::policy::{self, DatasetContext, GateFormat, GateVerdict};
use overlap::report::signing;

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
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  \
        overlap gate hh --policy policies/text-release-gate.yaml\n  \
        overlap gate demo@2 --policy policies/release-gate.yaml --format junit > gate.xml\n  \
        overlap gate history demo"
)]
pub struct GateArgs {
    #[command(subcommand)]
    pub command: Option<GateSubcommand>,
    /// NAME or NAME@V.
    #[arg(required = true)]
    pub dataset: Option<String>,
    /// The YAML overlap-SLO policy.
    #[arg(long, required = true)]
    pub policy: Option<PathBuf>,
    /// Output: human, json, junit (CI test reports), sarif (code scanning), github (workflow
    /// annotations) or markdown (a pull-request comment).
    #[arg(long, value_enum, default_value = "human")]
    pub format: GateFormatArg,
    /// Write the result here instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// The date waivers are checked against (default: today, UTC).
    #[arg(long)]
    pub today: Option<String>,
    /// What fails the gate: `deny` findings only, or `warn` findings too.
    #[arg(long, value_enum, default_value = "deny")]
    pub fail_on: FailOn,
    /// Ignore recorded analyses.
    #[arg(long)]
    pub recompute: bool,
    /// Also write the verdict as a signed in-toto test-result attestation (a DSSE envelope whose
    /// subject is the dataset version; `overlap verify FILE --public-key PUB` checks it).
    #[arg(long, value_name = "FILE", requires = "sign")]
    pub attest: Option<PathBuf>,
    /// The secret key that signs the --attest file (`overlap key generate`).
    #[arg(long, value_name = "KEY", requires = "attest")]
    pub sign: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum GateSubcommand {
    /// List recorded gate evaluations of a dataset.
    History {
        /// The dataset whose evaluations to list.
        name: String,
        /// Output: `human` (text for people) or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Report every problem of a policy file at once (exit 2 when any is an error).
    Lint {
        /// The policy file.
        file: PathBuf,
        /// Also check features, buckets and interventions against this dataset version.
        #[arg(long)]
        dataset: Option<String>,
        /// Output: `human` (text for people) or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

pub(crate) fn parse_date(s: &str) -> Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| format!("'{s}' is not a date: expected YYYY-MM-DD"))
}

/// Prints a policy's warnings (each once, in file order) to stderr.
pub(crate) fn print_warnings(warnings: &[policy::Diagnostic]) {
    for w in warnings {
        anstream::eprintln!("{}", crate::color::diagnostic(&w.to_string()));
    }
}

pub(crate) fn run(ctx: &Context, args: GateArgs) -> Result<Outcome> {
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
                            // An altered row's verdict is not evidence of anything.
                            match (r.verified, r.exit_code) {
                                (Some(false), _) => "ALTERED (see store verify)",
                                (_, 0) => "pass",
                                _ => "FAIL",
                            }
                            .to_string(),
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
    let key = args
        .sign
        .as_deref()
        .map(overlap::app::report::read_secret_key)
        .transpose()?;
    let mut session = ctx.session()?;
    let info = session.store().resolve(&dataset)?;
    let format = args.format.to_format();
    // One transaction: the analysis and the evaluation are recorded only if the output file can
    // be staged too; the file is moved into place after the commit.
    let (run, text, staged, attestation) =
        session.atomically(|store, stamp| -> Result<_, AppError> {
            let run = run_gate(
                store,
                stamp,
                &info,
                &GateRequest {
                    policy: &policy_file,
                    today,
                    fail_on_warn: args.fail_on == FailOn::Warn,
                    recompute: args.recompute,
                },
            )?;
            let text = policy::render(&run.evaluation, format);
            let staged = args
                .output
                .as_deref()
                .map(|path| Staged::write(path, text.as_bytes()))
                .transpose()?;
            let attestation = match (&args.attest, &key) {
                (Some(path), Some(key)) => {
                    let envelope = signing::attest_dataset(
                        (
                            &signing::dataset_subject_name(&info.dataset, info.version),
                            &info.digest,
                        ),
                        policy::test_result::TEST_RESULT_PREDICATE,
                        policy::test_result::predicate(&run.evaluation),
                        key,
                    )?;
                    Some(Staged::write(path, envelope.as_bytes())?)
                }
                _ => None,
            };
            Ok((run, text, staged, attestation))
        })?;
    if let Some(attestation) = attestation {
        let path = attestation.path().to_path_buf();
        attestation.commit()?;
        eprintln!(
            "wrote the signed test-result attestation {}",
            path.display()
        );
    }
    print_warnings(&run.warnings);
    match staged {
        Some(staged) => {
            let path = staged.path().to_path_buf();
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
        None if format == GateFormat::Human => anstream::print!("{}", crate::color::gate(&text)),
        None => print!("{text}"),
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

pub(crate) fn run_policy(ctx: &Context, cmd: PolicyCommand) -> Result<Outcome> {
    match cmd {
        PolicyCommand::Lint {
            file,
            dataset,
            format,
        } => {
            let PolicyFile { label, text, .. } = PolicyFile::read(&file)?;
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
                        .map(|p| analysis_params(&p))
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
                    let (analysis, _) = service::cached(
                        &mut store,
                        &info,
                        &params,
                        false,
                        &ctx.now(),
                        ctx.actor(),
                    )?;
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
