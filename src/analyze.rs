//! `overlap analyze`: BTL fit and overlap metrics per risk bucket.

use anyhow::{Context as _, Result, bail};
use clap::{Args, ValueEnum};

use super::output::{Format, num, opt_num, print_json, table, terminal};
use super::{Context, Outcome};
use overlap::analysis::service;
use overlap::model::DatasetRef;
use overlap::model::analysis::{
    AnalysisParams, BucketAnalysis, FitMode, FitReport, VersionAnalysis,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FitArg {
    Pooled,
    PerBucket,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    overlap analyze hh\n  \
    overlap analyze hh@1 --scope log_chars,refusal,hedging --format json")]
pub struct AnalyzeArgs {
    /// NAME or NAME@V.
    pub dataset: String,
    /// ρ: ridge on the mean logistic loss (0 allowed: the plain MLE).
    #[arg(long, default_value_t = 1e-4)]
    pub ridge: f64,
    /// λ_I: ridge added to the information matrices.
    #[arg(long, default_value_t = 0.0)]
    pub info_ridge: f64,
    /// `pooled` (one fit over every bucket) or `per-bucket` (a fit per bucket).
    #[arg(long, value_enum, default_value = "pooled")]
    pub fit: FitArg,
    /// Only these buckets (repeatable).
    #[arg(long)]
    pub bucket: Vec<String>,
    /// A feature pair F1:F2 whose quadrant coverage to report (every pair is shown when d ≤ 6).
    #[arg(long)]
    pub pair: Vec<String>,
    /// A scope F1,F2,… whose overlap (on the scoped information, other features as nuisances) to
    /// report besides the default scope; repeatable.
    #[arg(long, value_name = "FEATURES")]
    pub scope: Vec<String>,
    /// Ignore a recorded analysis with the same parameters.
    #[arg(long)]
    pub recompute: bool,
    /// Output: `human` (text for people) or `json`.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub(crate) fn parse_scopes(scopes: &[String]) -> Result<Vec<Vec<String>>> {
    scopes
        .iter()
        .map(|s| {
            let features: Vec<String> = s
                .split(',')
                .map(|f| f.trim().to_owned())
                .filter(|f| !f.is_empty())
                .collect();
            if features.is_empty() {
                bail!("--scope '{s}' names no feature: write --scope F1,F2,…");
            }
            Ok(features)
        })
        .collect()
}

pub(crate) fn parse_pairs(pairs: &[String]) -> Result<Vec<[String; 2]>> {
    pairs
        .iter()
        .map(|p| {
            let (a, b) = p
                .split_once(':')
                .with_context(|| format!("--pair '{p}': expected F1:F2"))?;
            if a.is_empty() || b.is_empty() {
                bail!("--pair '{p}': expected F1:F2");
            }
            Ok([a.to_string(), b.to_string()])
        })
        .collect()
}

pub(crate) fn run(ctx: &Context, args: AnalyzeArgs) -> Result<Outcome> {
    let dataset: DatasetRef = args
        .dataset
        .parse()
        .with_context(|| format!("'{}' is not NAME or NAME@N", args.dataset))?;
    let params = AnalysisParams {
        ridge: args.ridge,
        info_ridge: args.info_ridge,
        fit: match args.fit {
            FitArg::Pooled => FitMode::Pooled,
            FitArg::PerBucket => FitMode::PerBucket,
        },
        pairs: parse_pairs(&args.pair)?,
        scopes: parse_scopes(&args.scope)?,
    };
    let mut store = ctx.open()?;
    let info = store.resolve(&dataset)?;
    let (mut analysis, reused) = service::cached(
        &mut store,
        &info,
        &params,
        args.recompute,
        &ctx.now(),
        ctx.actor(),
    )?;
    if !args.bucket.is_empty() {
        for b in &args.bucket {
            analysis.bucket_position(b)?;
        }
        analysis.buckets.retain(|x| args.bucket.contains(&x.bucket));
    }
    match args.format {
        Format::Json => print_json(&analysis)?,
        Format::Human => {
            print!("{}", render_human(&analysis));
            if reused {
                eprintln!("(recorded analysis reused; --recompute to fit again)");
            }
        }
    }
    Ok(Outcome::Success)
}

fn fit_table(analysis: &VersionAnalysis, fit: &FitReport) -> String {
    let rows: Vec<Vec<String>> = fit
        .w
        .iter()
        .zip(fit.w_raw.iter())
        .zip(fit.se.iter())
        .zip(&analysis.features)
        .map(|((((name, w), (_, raw)), (_, se)), f)| {
            vec![
                name.to_string(),
                num(*w),
                opt_num(*se),
                num(*raw),
                num(f.scale),
                if f.never_varies {
                    "never varies".into()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    let mut out = format!(
        "BTL fit: n = {}, ridge = {}, {} Newton iterations, |grad| = {:.1e}\n",
        fit.n,
        num(fit.ridge),
        fit.iterations,
        fit.grad_norm
    );
    out.push_str(&table(
        &["feature", "w (std)", "se (std)", "w (raw)", "scale", ""],
        &rows,
    ));
    out
}

fn scope_text(features: &[String], all: usize) -> String {
    if features.len() == all {
        format!("all {all} features")
    } else {
        format!(
            "{} of {all} features: {}",
            features.len(),
            features.join(", ")
        )
    }
}

fn bucket_details(b: &BucketAnalysis, d: usize) -> String {
    let mut out = format!(
        "\n[{}] scope: {}\n",
        terminal(&b.bucket),
        scope_text(&b.scope, d)
    );
    if !b.absent_features.is_empty() {
        out.push_str(&format!(
            "  absent (support 0): {} — nothing can be said about their weights here\n",
            b.absent_features.join(", ")
        ));
    }
    out.push_str(&format!(
        "  weakest direction: {}",
        b.weakest_direction_words
    ));
    if b.metrics.unidentified {
        out.push_str("  — ENTANGLED: present but not separable, no information along it");
    }
    out.push('\n');
    let loadings: Vec<String> = b
        .weakest_direction
        .iter()
        .map(|(f, v)| format!("{f} {}", num(*v)))
        .collect();
    out.push_str(&format!("  loadings: {}\n", loadings.join(", ")));
    let support: Vec<String> = b.support.iter().map(|(f, c)| format!("{f} {c}")).collect();
    out.push_str(&format!("  support: {}\n", support.join(", ")));
    if let (Some(longer), Some(ties)) = (b.longer_share, b.tie_share) {
        out.push_str(&format!(
            "  preferred response longer: {} (ties {}, sign test p = {})\n",
            num(longer),
            num(ties),
            b.longer_p
                .map_or_else(|| "—".into(), |p| format!("{p:.3e}"))
        ));
    }
    let wins: Vec<String> = b
        .win_share
        .iter()
        .zip(b.support.iter())
        .filter(|(_, (_, c))| **c > 0)
        .map(|((f, w), _)| format!("{f} {}", num(*w)))
        .collect();
    if !wins.is_empty() {
        out.push_str(&format!(
            "  preferred side larger (win share): {}\n",
            wins.join(", ")
        ));
    }
    for s in &b.scoped {
        out.push_str(&format!(
            "  scope [{}]: λ_min {}, κ {}, worst_se {}, weakest {}{}\n",
            s.features.join(", "),
            num(s.metrics.lambda_min),
            s.metrics
                .condition_number
                .map_or_else(|| "unidentified".into(), num),
            opt_num(s.metrics.worst_se),
            s.weakest_direction_words,
            if s.absent.is_empty() {
                String::new()
            } else {
                format!(" (absent: {})", s.absent.join(", "))
            }
        ));
    }
    if !b.pairs.is_empty() {
        let rows: Vec<Vec<String>> = b
            .pairs
            .iter()
            .map(|p| {
                vec![
                    format!("{}:{}", p.features[0], p.features[1]),
                    opt_num(p.discordant_share.map(|s| 1.0 - s)),
                    opt_num(p.discordant_share),
                    opt_num(p.min_quadrant_share),
                    format!(
                        "{}/{}/{}/{}",
                        p.quadrants.pp, p.quadrants.pm, p.quadrants.mp, p.quadrants.mm
                    ),
                    p.zero.to_string(),
                ]
            })
            .collect();
        for line in table(
            &[
                "pair",
                "concordant",
                "crossed",
                "min quadrant",
                "++/+-/-+/--",
                "zero",
            ],
            &rows,
        )
        .lines()
        {
            out.push_str(&format!("  {line}\n"));
        }
    }
    let arms: Vec<String> = b
        .arms
        .iter()
        .map(|a| format!("{} {} ({})", a.arm, a.n, num(a.share)))
        .collect();
    out.push_str(&format!("  arms: {}\n", arms.join(", ")));
    if !b.interventions.is_empty() {
        let rows: Vec<Vec<String>> = b
            .interventions
            .iter()
            .map(|i| {
                vec![
                    i.name.clone(),
                    i.comparisons.to_string(),
                    opt_num(i.acceptance_rate),
                    match (i.wilson_low, i.wilson_high) {
                        (Some(l), Some(h)) => format!("[{}, {}]", num(l), num(h)),
                        _ => "—".into(),
                    },
                    num(i.cost),
                    opt_num(i.effective_cost),
                ]
            })
            .collect();
        for line in table(
            &[
                "intervention",
                "comparisons",
                "acceptance",
                "wilson 95%",
                "cost",
                "effective cost",
            ],
            &rows,
        )
        .lines()
        {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out
}

/// The human rendering of an analysis.
pub(crate) fn render_human(a: &VersionAnalysis) -> String {
    let mut out = format!("{}@{}  {}\n\n", a.dataset, a.version, a.digest);
    if let Some(fit) = &a.fit {
        out.push_str(&fit_table(a, fit));
        out.push('\n');
    }
    let rows: Vec<Vec<String>> = a
        .buckets
        .iter()
        .map(|b| {
            vec![
                b.bucket.clone(),
                b.n.to_string(),
                num(b.metrics.lambda_min),
                b.metrics
                    .condition_number
                    .map_or_else(|| "unidentified".into(), num),
                opt_num(b.metrics.worst_se),
                num(b.mean_curvature),
                num(b.geometry_lambda_min),
                b.label_balance.map_or_else(|| "n/a".into(), num),
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "bucket",
            "n",
            "λ_min",
            "κ",
            "worst_se",
            "curvature",
            "geom λ_min",
            "label bal.",
        ],
        &rows,
    ));
    for b in &a.buckets {
        if let Some(fit) = &b.fit {
            out.push_str(&format!("\n[{}] ", terminal(&b.bucket)));
            out.push_str(&fit_table(a, fit));
        }
        out.push_str(&bucket_details(b, a.features.len()));
    }
    if a.fixed_orientation {
        out.push_str(
            "\nlabel bal. n/a: the import fixed the orientation (every pair is chosen/rejected, L = 1)\n",
        );
    }
    out
}
