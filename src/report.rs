//! `overlap report label|adequacy|templates|history`: render, sign and record reports through the
//! `app::report` use case (which the demo calls too).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand, ValueEnum};

use super::gate::parse_date;
use super::output::{Format, print_json, table};
use super::{Context, Outcome};
use overlap::app::PolicyFile;
use overlap::app::report::{ReportRequest, write_report};
use overlap::model::DatasetRef;
use overlap::policy::GateVerdict;
use overlap::report::render::{DEFAULT_TEMPLATES, ReportFormat};
use overlap::report::view::ReportKind;

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Dataset nutrition label: identity, per-bucket overlap and SLO verdicts, weakest directions,
    /// interventions, audits and waivers.
    Label(LabelArgs),
    /// Design-adequacy report: which directions the data identifies, audit evidence, the optimal
    /// intervention mixture and the budget plan that would close the gaps.
    Adequacy(AdequacyArgs),
    /// The dataset card other tools read, in a new folder: croissant.json (Croissant 1.0 with the
    /// Responsible-AI fields filled from the findings), README.md (a Hugging Face dataset card:
    /// the label's content) and data/NAME-vV.jsonl (the records they describe).
    #[command(after_help = "Examples:\n  \
        overlap report card hh --policy policies/text-release-gate.yaml --output hh-card --license mit\n  \
        overlap report card demo@2 --policy policies/release-gate.yaml --output card")]
    Card(CardArgs),
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
        /// The dataset whose reports to list.
        name: String,
        /// Output: `human` (text for people) or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

fn card(ctx: &Context, args: &CardArgs) -> Result<Outcome> {
    let date = match &args.date {
        Some(s) => parse_date(s)?,
        None => ctx.today(),
    };
    let dataset: DatasetRef = args
        .dataset
        .parse()
        .with_context(|| format!("'{}' is not NAME or NAME@N", args.dataset))?;
    let policy = PolicyFile::read(&args.policy)?;
    let mut session = ctx.session()?;
    let info = session.store().resolve(&dataset)?;
    let (store, stamp) = session.parts();
    let written = overlap::app::card::write_card(
        store,
        stamp,
        &info,
        &overlap::app::card::CardRequest {
            policy: &policy,
            output: &args.output,
            date,
            license: args.license.as_deref(),
            recompute: args.recompute,
        },
    )?;
    super::gate::print_warnings(&written.warnings);
    println!(
        "wrote the card of {} (gate {}) to {}:",
        info.label(),
        match written.verdict {
            GateVerdict::Pass => "pass",
            GateVerdict::Fail => "FAIL",
        },
        args.output.display()
    );
    for f in &written.files {
        println!("  {}", f.display());
    }
    Ok(Outcome::Success)
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
pub struct CardArgs {
    /// NAME or NAME@V (default: the latest version).
    pub dataset: String,
    /// The YAML overlap-SLO policy the card evaluates.
    #[arg(long)]
    pub policy: PathBuf,
    /// The folder to write into (created when missing; its card files must not exist yet).
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    /// The data's license (an SPDX id such as `mit`, or a URL), written into both cards.
    #[arg(long)]
    pub license: Option<String>,
    /// The card's date, also the date waivers are checked against (default: today, UTC).
    #[arg(long)]
    pub date: Option<String>,
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
    let policy = PolicyFile::read(&args.policy)?;
    let mut session = ctx.session()?;
    let info = session.store().resolve(&dataset)?;
    let (store, stamp) = session.parts();
    let written = write_report(
        store,
        stamp,
        &info,
        &ReportRequest {
            kind,
            policy: &policy,
            format,
            output: &args.output,
            date,
            secret_key: args.sign.as_deref(),
            templates: args.templates.as_deref(),
            budget,
            recompute: args.recompute,
        },
    )?;
    super::gate::print_warnings(&written.warnings);
    for stale in &written.removed_stale {
        eprintln!("removed stale {}", stale.display());
    }
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
                        if r.verified == Some(false) {
                            "ALTERED (see store verify)".to_owned()
                        } else {
                            r.verdict.clone()
                        },
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

pub(crate) fn run(ctx: &Context, cmd: ReportCommand) -> Result<Outcome> {
    match cmd {
        ReportCommand::Label(args) => produce(ctx, ReportKind::NutritionLabel, &args.common, None),
        ReportCommand::Adequacy(args) => {
            produce(ctx, ReportKind::DesignAdequacy, &args.common, args.budget)
        }
        ReportCommand::Card(args) => card(ctx, &args),
        ReportCommand::Templates { output, force } => write_templates(&output, force),
        ReportCommand::History { name, format } => history(ctx, &name, format),
    }
}
