//! `overlap design`: optimal intervention mixtures for a bucket, or for an instance file.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use super::output::{Format, num, opt_num, print_json, table};
use super::{Context, Outcome};
use overlap::design::{self, BucketDesign, DesignRequest, instance::parse_instance};
use overlap::model::DatasetRef;
use overlap::numerics::optimal_design::{Criterion, DesignOutcome, SolverOptions, solve_design};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CriterionArg {
    /// Maximize λ_min (the worst direction).
    E,
    /// Minimize tr(I⁻¹) (average variance).
    A,
    /// Maximize log det I.
    D,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DesignArgs {
    #[command(subcommand)]
    pub command: Option<DesignSubcommand>,
    /// NAME or NAME@V (or use --instance).
    pub dataset: Option<String>,
    /// Solve every problem of a design instance file (refsuite/design/v1 JSON).
    #[arg(long, conflicts_with = "dataset")]
    pub instance: Option<PathBuf>,
    /// The bucket to design for (required with a dataset).
    #[arg(long)]
    pub bucket: Option<String>,
    /// The optimality criterion: `e` (λ_min), `a` (average variance) or `d` (log det).
    #[arg(long, value_enum, default_value = "e")]
    pub criterion: CriterionArg,
    /// The most the mixture may spend per labeled comparison, on average (edit and label costs).
    #[arg(long, value_name = "COST")]
    pub max_cost_per_label: Option<f64>,
    /// Renamed: `--budget` is a total everywhere else (plan, design next, report adequacy).
    #[arg(long, hide = true)]
    pub budget: Option<String>,
    /// Cost of labeling one comparison (added to every arm's edit costs).
    #[arg(long, default_value_t = 1.0)]
    pub label_cost: f64,
    /// A lower bound on an arm's share, ARM=γ (repeatable).
    #[arg(long)]
    pub min_mass: Vec<String>,
    /// Maximize the smallest λ_min over the records' groups (group-robust E design).
    #[arg(long)]
    pub robust_over_groups: bool,
    /// ρ: ridge of the BTL fit whose curvature weighs the arms.
    #[arg(long, default_value_t = 1e-4)]
    pub ridge: f64,
    /// Output: `human` (text for people) or `json`.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum DesignSubcommand {
    /// The next labeling batch for a bucket as a recorded work order (plugin, lcb or thompson).
    Next(super::design_next::NextArgs),
}

#[derive(Serialize)]
struct InstanceResult {
    id: String,
    status: String,
    objective: Option<f64>,
    pi: Option<Vec<f64>>,
    cost: Option<f64>,
    iterations: Option<usize>,
    gap: Option<f64>,
    cheapest_cost: Option<f64>,
    reason: Option<String>,
}

fn run_instance(path: &PathBuf, format: Format) -> Result<Outcome> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let inst = parse_instance(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let options = SolverOptions::default();
    let mut results = Vec::with_capacity(inst.problems.len());
    for (id, problem) in &inst.problems {
        let outcome = solve_design(problem, &options)
            .with_context(|| format!("{}: problem {id}", path.display()))?;
        results.push(match outcome {
            DesignOutcome::Optimal(s) => InstanceResult {
                id: id.clone(),
                status: "optimal".into(),
                objective: Some(s.objective),
                pi: Some(s.pi),
                cost: Some(s.cost),
                iterations: Some(s.iterations),
                gap: Some(s.gap),
                cheapest_cost: None,
                reason: None,
            },
            DesignOutcome::Infeasible {
                cheapest_cost,
                reason,
            } => InstanceResult {
                id: id.clone(),
                status: "infeasible".into(),
                objective: None,
                pi: None,
                cost: None,
                iterations: None,
                gap: None,
                cheapest_cost,
                reason: Some(reason),
            },
        });
    }
    match format {
        Format::Json => print_json(
            &serde_json::json!({"instance": inst.id, "arms": inst.names, "problems": results}),
        )?,
        Format::Human => {
            println!("{} ({} arms)", inst.id, inst.names.len());
            let rows: Vec<Vec<String>> = results
                .iter()
                .map(|r| {
                    vec![
                        r.id.clone(),
                        r.status.clone(),
                        opt_num(r.objective),
                        opt_num(r.cost),
                        r.iterations.map_or("—".into(), |i| i.to_string()),
                        r.gap.map_or("—".into(), |g| format!("{g:.1e}")),
                        r.pi.as_ref().map_or_else(
                            || format!("cheapest feasible cost {}", opt_num(r.cheapest_cost)),
                            |pi| {
                                pi.iter()
                                    .zip(&inst.names)
                                    .filter(|(p, _)| **p > 1e-4)
                                    .map(|(p, n)| format!("{n} {}", num(*p)))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            },
                        ),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(
                    &[
                        "problem",
                        "status",
                        "objective",
                        "cost",
                        "iterations",
                        "gap",
                        "mixture"
                    ],
                    &rows
                )
            );
        }
    }
    Ok(Outcome::Success)
}

fn parse_min_mass(items: &[String]) -> Result<Vec<(String, f64)>> {
    items
        .iter()
        .map(|s| {
            let (arm, g) = s
                .split_once('=')
                .with_context(|| format!("--min-mass '{s}': expected ARM=γ"))?;
            let g: f64 = g
                .parse()
                .with_context(|| format!("--min-mass '{s}': γ must be a number in [0, 1]"))?;
            let arm = overlap::model::Arm::parse(arm).with_context(|| {
                format!("--min-mass '{s}': '{arm}' is not an arm (e.g. baseline, baseline/shorten)")
            })?;
            Ok((arm.as_str().to_string(), g))
        })
        .collect()
}

fn print_design(d: &BucketDesign) {
    println!(
        "{}@{} bucket {}: {}-optimal design ({})",
        d.dataset,
        d.version,
        d.bucket,
        d.criterion.to_uppercase(),
        d.status
    );
    if !d.absent_features.is_empty() {
        println!(
            "  scope: {} of {} features; absent (support 0), not designed for: {}",
            d.scope.len(),
            d.scope.len() + d.absent_features.len(),
            d.absent_features.join(", ")
        );
    }
    if let Some(b) = d.budget {
        println!(
            "  max cost per label: {} (label cost {})",
            num(b),
            num(d.label_cost)
        );
    }
    let rows: Vec<Vec<String>> = d
        .arms
        .iter()
        .map(|a| {
            vec![
                a.arm.clone(),
                a.words.clone(),
                a.n.to_string(),
                num(a.current_share),
                num(a.pi),
                num(a.cost),
            ]
        })
        .collect();
    for line in table(
        &[
            "arm",
            "in words",
            "n now",
            "share now",
            "optimal share",
            "cost/label",
        ],
        &rows,
    )
    .lines()
    {
        println!("  {line}");
    }
    match d.status.as_str() {
        "optimal" => {
            println!(
                "  λ_min: current mixture {} → optimal {}{}",
                num(d.lambda_min_current),
                opt_num(d.lambda_min_optimal),
                d.savings_ratio.map_or_else(
                    || " (the current mixture identifies nothing along its weakest direction)".to_string(),
                    |r| format!("  — the optimal mixture needs {}× fewer labels for the same worst-direction error", num(r))
                )
            );
            println!(
                "  weakest direction: {} → {}",
                d.weakest_before.words,
                d.weakest_after.as_ref().map_or("—", |w| w.words.as_str())
            );
            println!(
                "  cost per label {} · {} iterations · certified gap {:.1e}",
                opt_num(d.cost),
                d.iterations.unwrap_or(0),
                d.gap.unwrap_or(0.0)
            );
        }
        _ => {
            println!(
                "  INFEASIBLE: {}; the cheapest feasible average cost is {}",
                d.infeasible_reason
                    .as_deref()
                    .unwrap_or("no mixture meets the constraints"),
                opt_num(d.cheapest_cost)
            );
        }
    }
    let (no_data, unusable): (Vec<_>, Vec<_>) = d.unexplored.iter().partition(|u| u.pilot > 0);
    if !no_data.is_empty() {
        println!(
            "  unexplored arms (no comparisons yet; a pilot of {} labels each would estimate them): {}",
            design::PILOT_LABELS,
            no_data
                .iter()
                .map(|u| u.arm.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for u in unusable {
        println!("  not usable: {} — {}", u.arm, u.reason);
    }
    for n in &d.notes {
        println!("  note: {n}");
    }
}

pub(crate) fn run(ctx: &Context, args: DesignArgs) -> Result<Outcome> {
    if let Some(cmd) = args.command {
        match cmd {
            DesignSubcommand::Next(a) => return super::design_next::run_next(ctx, a),
        }
    }
    if args.budget.is_some() {
        bail!(
            "`overlap design --budget` is now `--max-cost-per-label` (an average cost per labeled comparison); `--budget` of plan, design next and report adequacy is a total"
        );
    }
    if let Some(path) = &args.instance {
        return run_instance(path, args.format);
    }
    let Some(dataset) = &args.dataset else {
        bail!("give a dataset (overlap design NAME[@V] --bucket B) or --instance FILE");
    };
    let Some(bucket) = args.bucket.clone() else {
        bail!("--bucket is required when designing for a dataset");
    };
    if !(args.label_cost.is_finite() && args.label_cost >= 0.0) {
        bail!("--label-cost must be a number ≥ 0");
    }
    if let Some(b) = args.max_cost_per_label {
        if !(b.is_finite() && b > 0.0) {
            bail!(
                "--max-cost-per-label must be a positive number (average cost per labeled comparison)"
            );
        }
    }
    let r: DatasetRef = dataset
        .parse()
        .with_context(|| format!("'{dataset}' is not NAME or NAME@N"))?;
    let store = ctx.open()?;
    let info = store.resolve(&r)?;
    let request = DesignRequest {
        bucket,
        criterion: match args.criterion {
            CriterionArg::E => Criterion::E,
            CriterionArg::A => Criterion::A,
            CriterionArg::D => Criterion::D,
        },
        budget: args.max_cost_per_label,
        label_cost: args.label_cost,
        min_mass: parse_min_mass(&args.min_mass)?,
        groups: None,
    };
    let d = overlap::app::design::bucket_design(
        &store,
        &info,
        request,
        args.robust_over_groups,
        args.ridge,
    )?;
    match args.format {
        Format::Json => print_json(&d)?,
        Format::Human => print_design(&d),
    }
    Ok(Outcome::Success)
}
