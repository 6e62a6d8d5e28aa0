//! `overlap simulate`: the collection loop on a scenario whose truth is known, every strategy side
//! by side (see docs/simulate.md).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::Args;

use super::output::{Format, num, print_json, table};
use super::{Context, Outcome};
use overlap::collection::ThompsonOptions;
use overlap::simulate::{self, Method, PointReport, Scenario, SimOptions, SimReport, SimStrategy};

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// A built-in scenario (two-factor, helpful-harmless) or a scenario file ending in .yaml/.yml.
    #[arg(long, default_value = "two-factor")]
    pub scenario: String,
    /// Comma-separated strategies: passive, uniform, plugin, lcb, thompson, cost-blind.
    #[arg(long, default_value = "passive,uniform,plugin,lcb,thompson,cost-blind")]
    pub strategies: String,
    /// Labels per run.
    #[arg(long, default_value_t = 5000)]
    pub labels: u64,
    /// Labels per batch (ŵ is refitted and the design redone after each).
    #[arg(long, default_value_t = 250)]
    pub batch: u64,
    /// Independent runs per strategy (and per sweep value).
    #[arg(long, default_value_t = 20)]
    pub replicates: u64,
    /// Vary the scenario's rho: rho=0,0.5,0.8,0.9,0.95,0.99.
    #[arg(long)]
    pub sweep: Option<String>,
    /// Master seed; every run's randomness derives from it.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The MSE whose label count is reported (default: the scenario's target_mse).
    #[arg(long)]
    pub target_mse: Option<f64>,
    /// Posterior draws of the thompson strategy.
    #[arg(long, default_value_t = ThompsonOptions::default().draws)]
    pub draws: usize,
    /// Output: `human` (text for people) or `json`.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Write simulation.json and simulation.html (SVG charts, self-contained) into this folder.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

fn load_scenario(spec: &str) -> Result<Scenario> {
    if spec.ends_with(".yaml") || spec.ends_with(".yml") {
        let text = std::fs::read_to_string(spec)
            .with_context(|| format!("cannot read the scenario file {spec}"))?;
        Ok(Scenario::from_yaml(&text, spec)?)
    } else {
        Ok(Scenario::builtin(spec)?)
    }
}

fn parse_strategies(list: &str) -> Result<Vec<SimStrategy>> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            SimStrategy::parse(s).with_context(|| {
                format!(
                    "--strategies: unknown strategy '{s}' (expected: {})",
                    SimStrategy::ALL.map(SimStrategy::name).join(", ")
                )
            })
        })
        .collect()
}

/// `rho=0,0.5,…` → the values.
pub(crate) fn parse_sweep(spec: &str) -> Result<Vec<f64>> {
    let Some((param, values)) = spec.split_once('=') else {
        bail!("--sweep '{spec}': expected rho=V1,V2,…");
    };
    if param.trim() != "rho" {
        bail!("--sweep '{spec}': only rho can be swept");
    }
    values
        .split(',')
        .map(|v| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .with_context(|| format!("--sweep: '{v}' is not a number"))
        })
        .collect()
}

pub(crate) fn run(_ctx: &Context, args: SimulateArgs) -> Result<Outcome> {
    let scenario = load_scenario(&args.scenario)?;
    let options = SimOptions {
        strategies: parse_strategies(&args.strategies)?,
        labels: args.labels,
        batch: args.batch,
        replicates: args.replicates,
        seed: args.seed,
        sweep: args.sweep.as_deref().map(parse_sweep).transpose()?,
        target_mse: args.target_mse,
        thompson: ThompsonOptions { draws: args.draws },
        ..SimOptions::default()
    };
    let report = simulate::simulate(&scenario, &options)?;
    if let Some(dir) = &args.output {
        write_output(dir, &report)?;
    }
    match args.format {
        Format::Json => print_json(&report)?,
        Format::Human => print!("{}", render_human(&report)),
    }
    Ok(Outcome::Success)
}

/// Writes simulation.json and simulation.html into `dir` (created when missing).
fn write_output(dir: &Path, report: &SimReport) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the output folder {}", dir.display()))?;
    let json_path = dir.join("simulation.json");
    let mut json = serde_json::to_string_pretty(report)?;
    json.push('\n');
    std::fs::write(&json_path, json)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    let html_path = dir.join("simulation.html");
    std::fs::write(&html_path, simulate::html::render(report))
        .with_context(|| format!("cannot write {}", html_path.display()))?;
    eprintln!("wrote {} and {}", json_path.display(), html_path.display());
    Ok(())
}

fn point_table(point: &PointReport) -> String {
    let rows: Vec<Vec<String>> = point
        .strategies
        .iter()
        .filter_map(|s| {
            let last = s.checkpoints.last()?;
            let ltt = s.labels_to_target.map_or_else(
                || "—".to_string(),
                |l| {
                    format!(
                        "{:.0}{}",
                        l.labels,
                        if l.method == Method::Extrapolated {
                            " (extrap.)"
                        } else {
                            ""
                        }
                    )
                },
            );
            let mix: Vec<String> = s
                .final_shares
                .iter()
                .filter(|(_, v)| **v >= 0.0005)
                .map(|(a, v)| format!("{a} {:.3}", v))
                .collect();
            Some(vec![
                s.strategy.clone(),
                format!("{} ± {}", num(last.mse.mean), num(last.mse.sd)),
                num(last.lambda_min.mean),
                format!("{:.3}", last.crossed_share.mean),
                format!("{:.3}", last.ood_sign_error.mean),
                format!("{:.0}", last.cost.mean),
                ltt,
                mix.join(", "),
            ])
        })
        .collect();
    table(
        &[
            "strategy",
            "MSE (mean ± sd)",
            "λ̂_min",
            "crossed",
            "OOD sign err",
            "cost",
            "labels to target",
            "final mixture",
        ],
        &rows,
    )
}

/// The human rendering of a simulation report.
pub(crate) fn render_human(report: &SimReport) -> String {
    let s = &report.settings;
    let mut out = format!(
        "scenario {}: {} labels in batches of {}, {} replicates, seed {}, target MSE {}\n",
        report.scenario.name,
        s.labels,
        s.batch,
        s.replicates,
        s.seed,
        num(s.target_mse)
    );
    for point in &report.points {
        match point.rho {
            Some(r) => out.push_str(&format!("\nrho = {}\n", num(r))),
            None => out.push('\n'),
        }
        out.push_str(&point_table(point));
    }
    if let Some(rows) = &report.sweep {
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                let labels = |v: Option<f64>| v.map_or("—".into(), |v| format!("{v:.0}"));
                vec![
                    num(r.rho),
                    labels(r.passive_labels),
                    r.best_active.clone().unwrap_or_else(|| "—".into()),
                    labels(r.best_active_labels),
                    format!(
                        "{}{}",
                        r.measured_ratio.map_or("—".into(), num),
                        if r.extrapolated { " (extrap.)" } else { "" }
                    ),
                    r.predicted_ratio.map_or("—".into(), num),
                    num(r.inverse_one_minus_rho2),
                ]
            })
            .collect();
        out.push_str("\nlabels to reach the target, passive versus the best active strategy:\n");
        out.push_str(&table(
            &[
                "rho",
                "passive",
                "best active",
                "labels",
                "ratio",
                "predicted",
                "1/(1-ρ²)",
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
    fn sweeps_and_strategy_lists_parse() {
        assert_eq!(parse_sweep("rho=0,0.5, 0.9").unwrap(), vec![0.0, 0.5, 0.9]);
        assert!(parse_sweep("sigma=1").is_err());
        assert!(parse_sweep("rho=a").is_err());
        assert_eq!(
            parse_strategies("passive, cost-blind").unwrap(),
            vec![SimStrategy::Passive, SimStrategy::CostBlind]
        );
        assert!(parse_strategies("greedy").is_err());
    }
}
