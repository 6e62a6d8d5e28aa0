//! `overlap design next`: the next labeling batch for one bucket as a recorded work order
//! (whole-number counts per arm, cost, predicted λ_min and worst_se), optionally filled with
//! ranked candidate pairs from a file. The design itself is `overlap::collection`.

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};

use super::dataset::InputArg;
use super::output::{num, opt_num, print_json, table};
use super::{Context, Outcome};
use overlap::app::next_batch::{CandidateFile, NextBatch, NextBatchRequest, next_batch};
use overlap::collection::candidates::Selection;
use overlap::collection::{LcbOptions, Strategy, ThompsonOptions, WorkOrder};
use overlap::design::{PILOT_LABELS, arm_in_words};
use overlap::ingest::InputFormat;
use overlap::model::DatasetRef;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StrategyArg {
    /// E-optimal on the plug-in per-arm information.
    Plugin,
    /// E-optimal on lower confidence bounds; arms with unresolved bounds get pilots.
    Lcb,
    /// Designs averaged over posterior draws (Laplace ŵ, bootstrap comparisons).
    Thompson,
}

/// `--format` of `design next` (CSV: one line per arm).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum NextFormat {
    #[default]
    Human,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct NextArgs {
    /// NAME or NAME@V.
    pub dataset: String,
    /// The risk bucket to collect for.
    #[arg(long)]
    pub bucket: String,
    /// Labels in the batch.
    #[arg(long)]
    pub batch: u64,
    /// How the batch is designed: `plugin`, `lcb` or `thompson`.
    #[arg(long, value_enum, default_value = "plugin")]
    pub strategy: StrategyArg,
    /// γ: at least this share of the batch on the baseline arm (safe exploration).
    #[arg(long, default_value_t = 0.0)]
    pub explore: f64,
    /// Total cost the batch may spend (acceptance-adjusted edit costs plus label costs).
    #[arg(long)]
    pub budget: Option<f64>,
    /// Cost of labeling one comparison, added to every arm.
    #[arg(long, default_value_t = 1.0)]
    pub label_cost: f64,
    /// Seed of the thompson draws (the order is reproducible for a seed).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Unlabeled candidate pairs in the import format (JSONL, CSV or text pairs) to fill the counts.
    #[arg(long)]
    pub candidates: Option<String>,
    /// Format of the candidate file (default: from its name).
    #[arg(long, value_enum)]
    pub candidates_input: Option<InputArg>,
    /// Keep only candidates whose |ŵᵀΔφ̃| lies within --margin-band of this margin.
    #[arg(long)]
    pub margin_target: Option<f64>,
    /// Half-width of the margin band around --margin-target.
    #[arg(long, default_value_t = 0.5)]
    pub margin_band: f64,
    /// Pilot labels per arm without data (at most half of the non-floor batch in total).
    #[arg(long, default_value_t = PILOT_LABELS)]
    pub pilot: u64,
    /// Only these arms may be bought (comma-separated; default every arm the registry can produce).
    #[arg(long, value_delimiter = ',')]
    pub arms: Vec<String>,
    /// Posterior draws of the thompson strategy.
    #[arg(long, default_value_t = ThompsonOptions::default().draws)]
    pub draws: usize,
    /// δ of the lcb bound (it holds with probability 1 − δ per arm).
    #[arg(long, default_value_t = LcbOptions::default().delta)]
    pub lcb_delta: f64,
    /// Multiplies the lcb radius.
    #[arg(long, default_value_t = LcbOptions::default().scale)]
    pub lcb_scale: f64,
    /// ρ: ridge of the BTL fit.
    #[arg(long, default_value_t = 1e-4)]
    pub ridge: f64,
    /// Output: `human`, `json` or `csv` (one line per arm).
    #[arg(long, value_enum, default_value_t)]
    pub format: NextFormat,
}

pub(crate) fn run_next(ctx: &Context, args: NextArgs) -> Result<Outcome> {
    let dataset: DatasetRef = args
        .dataset
        .parse()
        .with_context(|| format!("'{}' is not NAME or NAME@N", args.dataset))?;
    let request = NextBatchRequest {
        dataset,
        bucket: args.bucket,
        batch: args.batch,
        strategy: match args.strategy {
            StrategyArg::Plugin => Strategy::Plugin,
            StrategyArg::Lcb => Strategy::Lcb,
            StrategyArg::Thompson => Strategy::Thompson,
        },
        explore: args.explore,
        budget: args.budget,
        label_cost: args.label_cost,
        seed: args.seed,
        pilot: args.pilot,
        arms: args.arms,
        lcb: LcbOptions {
            delta: args.lcb_delta,
            scale: args.lcb_scale,
        },
        thompson: ThompsonOptions { draws: args.draws },
        ridge: args.ridge,
        candidates: args.candidates.map(|path| CandidateFile {
            path,
            format: args.candidates_input.map(|f| match f {
                InputArg::Jsonl => InputFormat::Jsonl,
                InputArg::Csv => InputFormat::Csv,
                InputArg::Pairs => InputFormat::Pairs,
            }),
        }),
        margin_target: args.margin_target,
        margin_band: args.margin_band,
    };
    let mut session = ctx.session()?;
    let (store, stamp) = session.parts();
    let batch = next_batch(store, stamp, &request)?;
    match args.format {
        NextFormat::Json => print_json(&batch)?,
        NextFormat::Csv => print!("{}", render_csv(&batch.order, batch.candidates.as_ref())?),
        NextFormat::Human => print!("{}", render_human(&batch)),
    }
    Ok(Outcome::Success)
}

fn render_csv(order: &WorkOrder, selection: Option<&Selection>) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "arm",
        "count",
        "floor",
        "pilot",
        "designed",
        "share",
        "cost_per_label",
        "cost",
        "n_before",
        "candidates",
        "in_band",
        "selected",
        "short",
    ])?;
    for a in &order.arms {
        let supply = selection.and_then(|s| s.arms.iter().find(|x| x.arm == a.arm));
        let opt = |f: fn(&overlap::collection::candidates::ArmSupply) -> u64| {
            supply.map_or(String::new(), |s| f(s).to_string())
        };
        w.write_record([
            a.arm.clone(),
            a.count.to_string(),
            a.floor.to_string(),
            a.pilot.to_string(),
            a.designed.to_string(),
            format!("{:.6}", a.share),
            format!("{}", a.cost_per_label),
            format!("{}", a.cost),
            a.n_before.to_string(),
            opt(|s| s.candidates),
            opt(|s| s.in_band),
            opt(|s| s.selected),
            opt(|s| s.short),
        ])?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(String::from_utf8(bytes)?)
}

fn render_human(v: &NextBatch) -> String {
    let o = &v.order;
    let mut out = format!(
        "{}@{} bucket {}: next batch of {} labels ({}), cost {}{} — work order #{}\n",
        v.dataset,
        v.version,
        v.bucket,
        o.batch,
        o.strategy,
        num(o.cost),
        o.budget
            .map_or_else(String::new, |b| format!(" of a budget of {}", num(b))),
        v.work_order
    );
    let rows: Vec<Vec<String>> = o
        .arms
        .iter()
        .filter(|a| a.count > 0 || a.n_before > 0)
        .map(|a| {
            vec![
                a.arm.clone(),
                a.count.to_string(),
                a.floor.to_string(),
                a.pilot.to_string(),
                a.designed.to_string(),
                num(a.cost_per_label),
                num(a.cost),
                a.n_before.to_string(),
                arm_in_words(&a.arm),
            ]
        })
        .collect();
    for line in table(
        &[
            "arm",
            "count",
            "floor",
            "pilot",
            "designed",
            "cost/label",
            "cost",
            "n now",
            "in words",
        ],
        &rows,
    )
    .lines()
    {
        out.push_str(&format!("  {line}\n"));
    }
    let hidden = o
        .arms
        .iter()
        .filter(|a| a.count == 0 && a.n_before == 0)
        .count();
    if hidden > 0 {
        out.push_str(&format!(
            "  ({hidden} candidate arms without data get no labels in this batch)\n"
        ));
    }
    out.push_str(&format!(
        "  λ_min {} → {} (predicted), worst_se {} → {}\n",
        num(o.before.lambda_min),
        num(o.after.lambda_min),
        opt_num(o.before.worst_se),
        opt_num(o.after.worst_se)
    ));
    out.push_str(&format!(
        "  weakest direction after the batch: {}\n",
        v.weakest_after_words
    ));
    if let Some(run) = &o.design {
        out.push_str(&format!(
            "  design: {} solve(s), {} iterations, certified gap {:.1e}\n",
            run.solves, run.iterations, run.gap
        ));
    }
    if !o.unexplored.is_empty() {
        out.push_str(&format!(
            "  unexplored arms (no comparisons yet; pilots get no predicted information): {}\n",
            o.unexplored.join(", ")
        ));
    }
    if let Some(s) = &v.candidates {
        out.push_str("  candidates:\n");
        let rows: Vec<Vec<String>> = s
            .arms
            .iter()
            .filter(|a| a.requested > 0 || a.candidates > 0)
            .map(|a| {
                vec![
                    a.arm.clone(),
                    a.requested.to_string(),
                    a.candidates.to_string(),
                    a.in_band.to_string(),
                    a.selected.to_string(),
                    if a.short > 0 {
                        format!("SHORT by {}", a.short)
                    } else {
                        String::new()
                    },
                ]
            })
            .collect();
        for line in table(
            &["arm", "count", "candidates", "in band", "selected", ""],
            &rows,
        )
        .lines()
        {
            out.push_str(&format!("    {line}\n"));
        }
        if s.any_short() {
            out.push_str(
                "    some arms ran short of candidates: supply more pairs in those arms\n",
            );
        } else {
            out.push_str("    every arm's count is covered by candidates\n");
        }
        if s.other_arms > 0 {
            out.push_str(&format!(
                "    {} candidates are in arms this order cannot buy\n",
                s.other_arms
            ));
        }
    }
    for n in &o.notes {
        out.push_str(&format!("  note: {n}\n"));
    }
    out
}
