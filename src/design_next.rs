//! `overlap design next`: the next labeling batch for one bucket as a recorded work order
//! (whole-number counts per arm, cost, predicted λ_min and worst_se), optionally filled with
//! ranked candidate pairs from a file. The design itself is `overlap::collection`.

use std::collections::HashMap;

use anyhow::{Context as _, Result, bail};
use clap::{Args, ValueEnum};
use nalgebra::DMatrix;
use serde::Serialize;

use super::dataset::InputArg;
use super::output::{num, opt_num, print_json, table};
use super::{Context, Outcome};
use overlap::analysis::{self, service};
use overlap::collection::candidates::{Candidate, MarginBand, Selection, select};
use overlap::collection::{
    ArmRows, BucketState, CandidateArm, LcbOptions, NextRequest, Strategy, ThompsonOptions,
    WorkOrder, design_next, design_solver_options,
};
use overlap::design::{PILOT_LABELS, arm_cost, arm_in_words, candidate_arms};
use overlap::ingest::{self, InputFormat, InterventionState};
use overlap::model::analysis::{AnalysisParams, FitMode};
use overlap::model::{Arm, DatasetRef};
use overlap::storage::{NewWorkOrder, WorkOrderItem, WorkOrderLine};

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
    #[arg(long, value_enum, default_value_t)]
    pub format: NextFormat,
}

/// What `design next --format json` prints (and what is recorded as the order's result).
#[derive(Debug, Serialize)]
struct NextView<'a> {
    work_order: i64,
    dataset: &'a str,
    version: u32,
    digest: &'a str,
    bucket: &'a str,
    features: &'a [String],
    label_cost: f64,
    order: &'a WorkOrder,
    weakest_after_words: String,
    candidates: Option<&'a Selection>,
}

fn interventions(store: &overlap::storage::Store) -> Result<HashMap<String, InterventionState>> {
    Ok(store
        .interventions()?
        .into_iter()
        .map(|i| {
            let state = if i.retired.is_some() {
                InterventionState::Retired
            } else {
                InterventionState::Active
            };
            (i.name, state)
        })
        .collect())
}

pub(crate) fn run_next(ctx: &Context, args: NextArgs) -> Result<Outcome> {
    let dataset: DatasetRef = args
        .dataset
        .parse()
        .with_context(|| format!("'{}' is not NAME or NAME@N", args.dataset))?;
    if !(args.label_cost.is_finite() && args.label_cost >= 0.0) {
        bail!("--label-cost {} must be a finite cost ≥ 0", args.label_cost);
    }
    let mut store = ctx.open()?;
    let info = store.resolve(&dataset)?;
    let data = store.version_data(&info)?;
    let registry = service::registry_view(&store)?;
    let params = AnalysisParams {
        ridge: args.ridge,
        info_ridge: 0.0,
        fit: FitMode::Pooled,
        pairs: Vec::new(),
        scopes: Vec::new(),
    };
    let analyzed = analysis::analyze(&info, &data, &registry, &params)?;
    let Some(pos) = analyzed
        .analysis
        .buckets
        .iter()
        .position(|b| b.bucket == args.bucket)
    else {
        let known: Vec<&str> = analyzed
            .analysis
            .buckets
            .iter()
            .map(|b| b.bucket.as_str())
            .collect();
        bail!(
            "{} has no bucket '{}' (buckets: {})",
            info.label(),
            args.bucket,
            known.join(", ")
        );
    };
    let d = data.d;
    let w = analyzed.weights[pos].clone();
    let x = analysis::standardize(&data, &info.schema.scales);

    // Every arm with data in the bucket, with its standardized rows (history, candidate or not).
    let bucket_index = data
        .buckets
        .iter()
        .position(|b| *b == args.bucket)
        .with_context(|| {
            format!(
                "bucket '{}' is missing from the version's data",
                args.bucket
            )
        })?;
    let mut rows_by_arm: Vec<Vec<f64>> = vec![Vec::new(); data.arms.len()];
    for t in 0..data.len() {
        if data.bucket[t] as usize == bucket_index {
            let r = data.arm[t] as usize;
            if let Some(rows) = rows_by_arm.get_mut(r) {
                rows.extend_from_slice(&x[t * d..(t + 1) * d]);
            }
        }
    }
    let views: Vec<ArmRows<'_>> = data
        .arms
        .iter()
        .zip(&rows_by_arm)
        .filter(|(_, rows)| !rows.is_empty())
        .map(|(arm, rows)| ArmRows { arm, rows })
        .collect();
    // P = Σ_k S_k + N·ρ·I, the Hessian of the pooled penalized summed loss at ŵ.
    let mut precision = DMatrix::<f64>::identity(d, d) * (data.len() as f64 * args.ridge);
    for b in &analyzed.information {
        precision += &b.summed;
    }

    // Candidate arms: every pair the registry can produce (or --arms), priced per bucket.
    let active: Vec<String> = store
        .interventions()?
        .into_iter()
        .filter(|i| i.retired.is_none())
        .map(|i| i.name)
        .collect();
    let producible = candidate_arms(&active);
    let wanted: Vec<String> = if args.arms.is_empty() {
        producible.clone()
    } else {
        let mut out = Vec::new();
        for a in &args.arms {
            let arm = Arm::parse(a.trim()).with_context(|| {
                format!("--arms: '{a}' is not an arm (e.g. baseline, baseline/shorten)")
            })?;
            if !producible.iter().any(|p| p == arm.as_str()) {
                bail!(
                    "--arms: '{arm}' cannot be produced by the active interventions (arms: {})",
                    producible.join(", ")
                );
            }
            if !out.iter().any(|o: &String| o == arm.as_str()) {
                out.push(arm.as_str().to_string());
            }
        }
        out
    };
    let mut notes = Vec::new();
    let mut candidates = Vec::new();
    for arm in &wanted {
        match arm_cost(&registry, &args.bucket, arm, args.label_cost, &mut notes) {
            Ok(cost) => candidates.push(CandidateArm {
                arm: arm.clone(),
                cost,
            }),
            Err(reason) => notes.push(format!("{arm} cannot be bought: {reason}")),
        }
    }
    let request = NextRequest {
        strategy: match args.strategy {
            StrategyArg::Plugin => Strategy::Plugin,
            StrategyArg::Lcb => Strategy::Lcb,
            StrategyArg::Thompson => Strategy::Thompson,
        },
        batch: args.batch,
        explore: args.explore,
        budget: args.budget,
        pilot: args.pilot,
        seed: args.seed,
        lcb: LcbOptions {
            delta: args.lcb_delta,
            scale: args.lcb_scale,
        },
        thompson: ThompsonOptions { draws: args.draws },
        solver: design_solver_options(),
    };
    let state = BucketState {
        d,
        w: &w,
        arms: &views,
        precision: Some(&precision),
    };
    let mut order = design_next(&state, &candidates, &request)
        .with_context(|| format!("{} bucket {}", info.label(), args.bucket))?;
    order.notes.extend(notes);

    let selection = match &args.candidates {
        Some(path) => {
            let format = match args.candidates_input {
                Some(InputArg::Jsonl) => InputFormat::Jsonl,
                Some(InputArg::Csv) => InputFormat::Csv,
                Some(InputArg::Pairs) => InputFormat::Pairs,
                None => ingest::infer_format(path).with_context(|| {
                    format!("cannot tell the format of '{path}' from its name: pass --candidates-input jsonl|csv|pairs")
                })?,
            };
            let input = ingest::open_input(path)?;
            let registered = interventions(&store)?;
            let read = ingest::read_candidates(path, input, format, &info.schema, &registered)?;
            let mut pool = Vec::new();
            let mut delta = Vec::with_capacity(d);
            for c in read.iter().filter(|c| c.bucket == args.bucket) {
                c.values.delta_into(&mut delta);
                pool.push(Candidate {
                    id: c.id.clone(),
                    arm: c.arm().as_str().to_string(),
                    x: delta
                        .iter()
                        .zip(&info.schema.scales)
                        .map(|(v, s)| v / s)
                        .collect(),
                });
            }
            let elsewhere = read.len() - pool.len();
            if elsewhere > 0 {
                order.notes.push(format!(
                    "{elsewhere} candidates belong to other buckets and were ignored"
                ));
            }
            let band = args.margin_target.map(|target| MarginBand {
                target,
                half_width: args.margin_band,
            });
            Some(select(&order, &pool, &w, band)?)
        }
        None => {
            if args.margin_target.is_some() {
                bail!("--margin-target filters candidate pairs: pass --candidates FILE");
            }
            None
        }
    };

    let features: Vec<String> = info.schema.features.clone();
    let words = analysis::direction_in_words(&features, &order.weakest_after);
    let mut view = NextView {
        work_order: 0,
        dataset: &info.dataset,
        version: info.version,
        digest: &info.digest,
        bucket: &args.bucket,
        features: &features,
        label_cost: args.label_cost,
        order: &order,
        weakest_after_words: words,
        candidates: selection.as_ref(),
    };
    let params_json = serde_json::json!({
        "strategy": order.strategy,
        "batch": args.batch,
        "explore": args.explore,
        "budget": args.budget,
        "label_cost": args.label_cost,
        "seed": args.seed,
        "pilot": args.pilot,
        "arms": args.arms,
        "draws": args.draws,
        "lcb_delta": args.lcb_delta,
        "lcb_scale": args.lcb_scale,
        "ridge": args.ridge,
        "candidates": args.candidates,
        "margin_target": args.margin_target,
        "margin_band": args.margin_band,
    });
    let result_json = serde_json::to_value(&view)?;
    let lines: Vec<WorkOrderLine> = order
        .arms
        .iter()
        .map(|a| WorkOrderLine {
            arm: a.arm.clone(),
            count: a.count,
            floor: a.floor,
            pilot: a.pilot,
            designed: a.designed,
            cost_per_label: a.cost_per_label,
            n_before: a.n_before,
        })
        .collect();
    let items: Vec<WorkOrderItem> = selection
        .as_ref()
        .map(|s| {
            let mut rank: HashMap<&str, u64> = HashMap::new();
            s.picks
                .iter()
                .map(|p| {
                    let r = rank.entry(p.arm.as_str()).or_insert(0);
                    *r += 1;
                    WorkOrderItem {
                        candidate_id: p.id.clone(),
                        arm: p.arm.clone(),
                        rank: *r,
                        margin: p.margin,
                        score: p.score,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let id = store.record_work_order(
        &info,
        &NewWorkOrder {
            bucket: &args.bucket,
            strategy: &order.strategy,
            batch: order.batch,
            explore: order.explore,
            budget: order.budget,
            seed: order.seed,
            cost: order.cost,
            lambda_min_before: order.before.lambda_min,
            lambda_min_after: order.after.lambda_min,
            worst_se_after: order.after.worst_se,
            params: &params_json,
            result: &result_json,
            lines: &lines,
            items: &items,
            now: &ctx.now(),
            actor: ctx.actor(),
        },
    )?;
    view.work_order = id;
    match args.format {
        NextFormat::Json => print_json(&view)?,
        NextFormat::Csv => print!("{}", render_csv(&order, selection.as_ref())?),
        NextFormat::Human => print!("{}", render_human(&view)),
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

fn render_human(v: &NextView<'_>) -> String {
    let o = v.order;
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
    if let Some(s) = v.candidates {
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
