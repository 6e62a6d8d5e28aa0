//! `overlap audit …`: draw review samples along a bucket's weakest direction, record reviewers'
//! verdicts, and show the audit evidence per bucket.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand, ValueEnum};

use super::analyze::parse_pairs;
use super::output::{Format, num, opt_num, print_json, table};
use super::{Context, Outcome};
use overlap::app::{self, AppError, audit::SheetTarget};
use overlap::audit::{
    AuditError, AuditStatus, Coverage, DEFAULT_MIN_PASS_RATE, DEFAULT_SEED, KindCoverage,
    RecordReport, SampleRequest, SampleSummary, SheetFormat, Strategy,
};
use overlap::model::DatasetRef;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Draw comparisons along a bucket's weakest direction (and quadrant probes) for expert review.
    Sample(SampleArgs),
    /// Import reviewers' verdicts from a filled review sheet (the JSONL or CSV the sampler wrote).
    Record(RecordArgs),
    /// Per bucket: comparisons audited, pass rate with its Wilson 95% interval, reviewer
    /// agreement and the illusory-overlap flag.
    Status(StatusArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StrategyArg {
    /// The K most aligned comparisons (ties by id).
    Top,
    /// K draws without replacement with probability ∝ alignment², from the seed.
    Weighted,
}

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// NAME or NAME@V.
    pub dataset: String,
    /// The bucket to sample.
    #[arg(long)]
    pub bucket: String,
    /// K: comparisons to draw along the weakest direction.
    #[arg(long, value_name = "K")]
    pub n: usize,
    /// Seed of the weighted draw and of the probes (recorded with the sample).
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// How the sample is drawn along the weakest direction: `top` or `weighted`.
    #[arg(long, value_enum, default_value = "top")]
    pub strategy: StrategyArg,
    /// Also draw up to max(1, K/4) crossed and as many concordant comparisons of this feature pair
    /// (repeatable).
    #[arg(long, value_name = "F1:F2")]
    pub pair: Vec<String>,
    /// Also draw comparisons that an earlier sample of this version already holds.
    #[arg(long)]
    pub include_audited: bool,
    /// `jsonl` or `csv` (to stdout), or a new file ending in .jsonl or .csv.
    #[arg(long, default_value = "jsonl")]
    pub output: String,
    /// ρ of the analysis that gives the weakest direction.
    #[arg(long, default_value_t = 1e-4)]
    pub ridge: f64,
    /// λ_I of the analysis that gives the weakest direction.
    #[arg(long, default_value_t = 0.0)]
    pub info_ridge: f64,
    /// Format of the summary (on stdout with a file --output, else on stderr).
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The filled review sheet (.jsonl or .csv).
    pub file: String,
    /// Reviewer of the rows whose reviewer field is empty.
    #[arg(long, value_name = "WHO")]
    pub reviewer: Option<String>,
    /// Output: `human` (text for people) or `json`.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// NAME or NAME@V.
    pub dataset: String,
    /// Flag overlap as illusory when the pass rate along the weakest direction is below this.
    #[arg(long, default_value_t = DEFAULT_MIN_PASS_RATE)]
    pub min_pass_rate: f64,
    /// Output: `human` (text for people) or `json`.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

fn parse_ref(s: &str) -> Result<DatasetRef> {
    s.parse::<DatasetRef>()
        .with_context(|| format!("'{s}' is not a dataset reference (expected NAME or NAME@N)"))
}

pub(crate) fn run(ctx: &Context, cmd: AuditCommand) -> Result<Outcome> {
    match cmd {
        AuditCommand::Sample(args) => sample(ctx, args),
        AuditCommand::Record(args) => record(ctx, args),
        AuditCommand::Status(args) => status(ctx, args),
    }
}

/// Where the review sheet goes.
enum Destination<'a> {
    Stdout(SheetFormat),
    File(&'a str, SheetFormat),
}

fn destination(output: &str) -> Result<Destination<'_>> {
    match output {
        "jsonl" => Ok(Destination::Stdout(SheetFormat::Jsonl)),
        "csv" => Ok(Destination::Stdout(SheetFormat::Csv)),
        path => match SheetFormat::from_path(path) {
            Some(f) if !path.ends_with(".json") => Ok(Destination::File(path, f)),
            _ => bail!(
                "--output takes jsonl, csv, or a file path ending in .jsonl or .csv; found '{path}'"
            ),
        },
    }
}

fn sample(ctx: &Context, args: SampleArgs) -> Result<Outcome> {
    let dest = destination(&args.output)?;
    let request = SampleRequest {
        bucket: args.bucket.clone(),
        n: args.n,
        seed: args.seed,
        strategy: match args.strategy {
            StrategyArg::Top => Strategy::Top,
            StrategyArg::Weighted => Strategy::Weighted,
        },
        pairs: parse_pairs(&args.pair)?,
        include_audited: args.include_audited,
        ridge: args.ridge,
        info_ridge: args.info_ridge,
    };
    let mut session = ctx.session()?;
    let dataset = parse_ref(&args.dataset)?;
    let recorded = match dest {
        Destination::Stdout(format) => app::audit::sample(
            &mut session,
            &dataset,
            &request,
            SheetTarget::Writer(&mut std::io::stdout().lock()),
            format,
        )?,
        Destination::File(path, format) => app::audit::sample(
            &mut session,
            &dataset,
            &request,
            SheetTarget::NewFile(Path::new(path)),
            format,
        )?,
    };
    let summary = &recorded.summary;
    let (to_stdout, target) = match dest {
        Destination::Stdout(_) => (false, "stdout".to_string()),
        Destination::File(path, _) => (true, path.to_string()),
    };
    let text = match args.format {
        Format::Json => {
            let mut v = serde_json::to_value(summary)?;
            if let Some(obj) = v.as_object_mut() {
                obj.insert("output".into(), serde_json::Value::String(target));
            }
            format!("{}\n", serde_json::to_string_pretty(&v)?)
        }
        Format::Human => render_sample(summary, &target),
    };
    if to_stdout {
        print!("{text}");
    } else {
        eprint!("{text}");
    }
    Ok(Outcome::Success)
}

fn coverage_text(k: &KindCoverage) -> String {
    let state = match k.coverage {
        Coverage::Covered => "",
        Coverage::Rare => ", RARE",
        Coverage::Missing => ", MISSING",
    };
    format!(
        "{} drawn, {} in bucket ({}{state})",
        k.drawn,
        k.in_bucket,
        k.share
            .map_or_else(|| "—".to_string(), |s| format!("{:.1}%", 100.0 * s))
    )
}

/// The human summary of a recorded sample.
pub(crate) fn render_sample(s: &SampleSummary, target: &str) -> String {
    let id = s.audit_id.as_deref().unwrap_or("audit");
    let mut out = format!(
        "{id}: {} comparison{} of {} / {} for review → {target}\n",
        s.rows,
        if s.rows == 1 { "" } else { "s" },
        s.dataset,
        s.bucket
    );
    let loadings: Vec<String> = s
        .direction
        .iter()
        .map(|(f, v)| format!("{f} {}", num(*v)))
        .collect();
    out.push_str(&format!(
        "  weakest direction: {} ({})\n",
        s.direction_words,
        loadings.join(", ")
    ));
    let range = match (s.alignment_min, s.alignment_max) {
        (Some(lo), Some(hi)) => format!(", alignment {}–{}", num(lo), num(hi)),
        _ => String::new(),
    };
    out.push_str(&format!(
        "  strategy {}, seed {}: drew {} of {} along it{range}; {} eligible of {} ({} already audited, {} orthogonal)\n",
        s.strategy.as_str(),
        s.seed,
        s.drawn,
        s.requested,
        s.eligible,
        s.comparisons,
        s.excluded_audited,
        s.orthogonal
    ));
    for p in &s.probes {
        out.push_str(&format!(
            "  probes {}:{} ({} of each asked): crossed {}; concordant {}\n",
            p.features[0],
            p.features[1],
            p.requested,
            coverage_text(&p.crossed),
            coverage_text(&p.concordant)
        ));
    }
    for f in &s.findings {
        out.push_str(&format!("  finding: {f}\n"));
    }
    out.push_str(
        "  next: fill in reviewer, meaningful and on_policy (true/false) and note, then `overlap audit record FILE`\n",
    );
    out
}

fn record(ctx: &Context, args: RecordArgs) -> Result<Outcome> {
    let mut session = ctx.session()?;
    let report = match app::audit::record(&mut session, &args.file, args.reviewer.as_deref()) {
        Ok(r) => r,
        Err(AppError::Audit(AuditError::Invalid(problems))) => bail!(
            "{problems}\nnothing recorded: {} problem{} found",
            problems.total,
            if problems.total == 1 { "" } else { "s" }
        ),
        Err(e) => return Err(e.into()),
    };
    match args.format {
        Format::Json => print_json(&report)?,
        Format::Human => print!("{}", render_record(&report)),
    }
    Ok(Outcome::Success)
}

fn lines_list(lines: &[u64]) -> String {
    const SHOWN: usize = 10;
    let head: Vec<String> = lines.iter().take(SHOWN).map(u64::to_string).collect();
    let more = if lines.len() > SHOWN {
        format!(", … and {} more", lines.len() - SHOWN)
    } else {
        String::new()
    };
    format!("{}{more}", head.join(", "))
}

/// The human report of `audit record`.
pub(crate) fn render_record(r: &RecordReport) -> String {
    let per: Vec<String> = r
        .audits
        .iter()
        .map(|a| format!("{}: {}", a.audit_id, a.recorded))
        .collect();
    let mut out = format!(
        "recorded {} verdict{} from {}",
        r.recorded,
        if r.recorded == 1 { "" } else { "s" },
        r.file
    );
    if !per.is_empty() {
        out.push_str(&format!(" ({})", per.join(", ")));
    }
    out.push('\n');
    if r.already_recorded > 0 {
        out.push_str(&format!(
            "{} row{} already recorded with the same verdict: skipped\n",
            r.already_recorded,
            if r.already_recorded == 1 {
                " was"
            } else {
                "s were"
            }
        ));
    }
    if r.skipped_empty > 0 {
        out.push_str(&format!(
            "skipped {} row{} whose verdict fields are empty (line{} {}): fill in meaningful and on_policy and record the file again\n",
            r.skipped_empty,
            if r.skipped_empty == 1 { "" } else { "s" },
            if r.skipped_empty == 1 { "" } else { "s" },
            lines_list(&r.skipped_lines)
        ));
    }
    out
}

fn status(ctx: &Context, args: StatusArgs) -> Result<Outcome> {
    let s = app::audit::status(
        &ctx.session()?,
        &parse_ref(&args.dataset)?,
        args.min_pass_rate,
    )?;
    match args.format {
        Format::Json => print_json(&s)?,
        Format::Human => print!("{}", render_status(&s)),
    }
    Ok(Outcome::Success)
}

fn interval(low: Option<f64>, high: Option<f64>) -> String {
    match (low, high) {
        (Some(l), Some(h)) => format!("[{}, {}]", num(l), num(h)),
        _ => "—".into(),
    }
}

/// The human rendering of `audit status`.
pub(crate) fn render_status(s: &AuditStatus) -> String {
    let mut out = format!("{}@{}  {}\n", s.dataset, s.version, s.digest);
    out.push_str(&format!("pass rule: {}\n", s.pass_rule));
    out.push_str(&format!(
        "illusory overlap: pass rate along the weakest direction below {}\n\n",
        num(s.min_pass_rate)
    ));
    let rows: Vec<Vec<String>> = s
        .buckets
        .iter()
        .map(|b| {
            let along = &b.along_direction;
            vec![
                b.bucket.clone(),
                b.sampled.to_string(),
                b.overall.audited.to_string(),
                opt_num(b.overall.pass_rate),
                interval(b.overall.wilson_low, b.overall.wilson_high),
                match along.pass_rate {
                    Some(r) => format!("{} ({}/{})", num(r), along.passed, along.audited),
                    None => "—".into(),
                },
                b.verdicts.to_string(),
                b.reviewers.to_string(),
                match b.illusory_overlap {
                    Some(true) => "ILLUSORY OVERLAP".into(),
                    Some(false) => "ok".into(),
                    None if b.sampled > 0 => "awaiting verdicts".into(),
                    None => "unaudited".into(),
                },
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "bucket",
            "sampled",
            "audited",
            "pass rate",
            "wilson 95%",
            "along direction",
            "verdicts",
            "reviewers",
            "flag",
        ],
        &rows,
    ));
    for b in &s.buckets {
        let mut notes = Vec::new();
        for a in &b.agreement {
            notes.push(format!(
                "agreement {}/{} on {} comparison{}: {} agree, κ {}",
                a.reviewers[0],
                a.reviewers[1],
                a.shared,
                if a.shared == 1 { "" } else { "s" },
                num(a.agreement),
                a.kappa
                    .map_or_else(|| "undefined (one verdict throughout)".into(), num)
            ));
        }
        if b.split > 0 {
            notes.push(format!(
                "{} comparison{} split evenly between reviewers (not passing)",
                b.split,
                if b.split == 1 { "" } else { "s" }
            ));
        }
        if b.overall.audited > 0 {
            notes.push(format!(
                "meaningful {}/{}, on-policy {}/{}",
                b.meaningful, b.overall.audited, b.on_policy, b.overall.audited
            ));
        }
        if !notes.is_empty() {
            out.push_str(&format!("\n[{}]\n", b.bucket));
            for n in notes {
                out.push_str(&format!("  {n}\n"));
            }
        }
    }
    if !s.samples.is_empty() {
        let rows: Vec<Vec<String>> = s
            .samples
            .iter()
            .map(|a| {
                vec![
                    a.audit_id.clone(),
                    a.bucket.clone(),
                    a.strategy.clone(),
                    a.seed.to_string(),
                    a.items.to_string(),
                    a.verdicts.to_string(),
                    a.created_at.clone(),
                    a.created_by.clone(),
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&table(
            &[
                "audit", "bucket", "strategy", "seed", "items", "verdicts", "created", "by",
            ],
            &rows,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        assert!(matches!(
            destination("jsonl").unwrap(),
            Destination::Stdout(SheetFormat::Jsonl)
        ));
        assert!(matches!(
            destination("out/s.CSV").unwrap(),
            Destination::File(_, SheetFormat::Csv)
        ));
        assert!(destination("s.json").is_err());
        assert!(destination("s.txt").is_err());
    }
}
