//! `overlap plan`: where a label budget should go across a policy's risk buckets.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;

use super::output::{Format, num, opt_num, print_json, table};
use super::{Context, Outcome};
use overlap::app::PolicyFile;
use overlap::app::plan::{PlanRequest, make_plan};
use overlap::design::budget::PlanReport;
use overlap::model::DatasetRef;

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// NAME or NAME@V.
    pub dataset: String,
    /// The policy whose worst_se / total_information rules set the targets and whose
    /// `buckets:` set the harm weights.
    #[arg(long)]
    pub policy: PathBuf,
    /// Total to spend; without it, the minimum cost of meeting every reachable target.
    #[arg(long)]
    pub budget: Option<f64>,
    /// Cost of labeling one comparison (added to every arm's edit costs).
    #[arg(long, default_value_t = 1.0)]
    pub label_cost: f64,
    /// Output: `human` (text for people) or `json`.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub(crate) fn print_plan(p: &PlanReport) {
    match p.budget {
        Some(b) => println!(
            "{}@{} plan under policy {}: budget {} (label cost {})",
            p.dataset,
            p.version,
            p.policy,
            num(b),
            num(p.label_cost)
        ),
        None => println!(
            "{}@{} plan under policy {}: minimum cost to meet every target (label cost {})",
            p.dataset,
            p.version,
            p.policy,
            num(p.label_cost)
        ),
    }
    println!("\nrules:");
    for r in &p.rules {
        let status = if r.planned && !r.sets_target_for.is_empty() {
            format!(
                "planned (sets the target of {})",
                r.sets_target_for.join(", ")
            )
        } else if r.planned {
            "planned (a stricter rule sets every target it selects)".to_string()
        } else {
            "not planned".to_string()
        };
        println!(
            "  {} ({} {}): {status} — {}",
            r.rule, r.severity, r.metric, r.reason
        );
    }
    for b in &p.buckets {
        println!(
            "\n[{}] harm {} · target worst_se ≤ {} (rule {}) · {} new labels for {}",
            b.bucket,
            num(b.harm),
            num(b.target_worst_se),
            b.target_rule,
            b.n_new,
            num(b.cost)
        );
        println!(
            "  worst_se {} → {} · total information {} → {} (target {}) · {}",
            opt_num(b.worst_se_before),
            opt_num(b.worst_se_after),
            num(b.total_information_before),
            num(b.total_information_after),
            num(b.target),
            if b.target_met {
                "target met"
            } else {
                "target NOT met"
            }
        );
        let scope = if b.absent_features.is_empty() {
            format!("all {} features", b.scope.len())
        } else {
            format!(
                "{} of {} features; absent, not planned: {}",
                b.scope.len(),
                b.scope.len() + b.absent_features.len(),
                b.absent_features.join(", ")
            )
        };
        println!("  scope: {scope}");
        for note in &b.notes {
            println!("  note: {note}");
        }
        let rows: Vec<Vec<String>> = b
            .arms
            .iter()
            .filter(|a| a.count > 0 || a.continuous_count > 1e-6)
            .map(|a| {
                vec![
                    a.arm.clone(),
                    a.words.clone(),
                    a.count.to_string(),
                    num(a.continuous_count),
                    num(a.cost_per_label),
                ]
            })
            .collect();
        if !rows.is_empty() {
            for line in table(
                &["arm", "in words", "labels", "continuous", "cost/label"],
                &rows,
            )
            .lines()
            {
                println!("  {line}");
            }
        }
    }
    println!(
        "\ntotal cost {} (continuous optimum {}) · harm-weighted coverage {} of {} (continuous {}) · {} design solves",
        num(p.cost),
        num(p.continuous_cost),
        num(p.objective),
        num(p.max_objective),
        num(p.continuous_objective),
        p.solves
    );
    for u in &p.unreachable {
        println!("unreachable, no labels: {} — {}", u.bucket, u.reason);
    }
    for s in &p.skipped {
        println!("not planned: {} — {}", s.bucket, s.reason);
    }
}

pub(crate) fn run(ctx: &Context, args: PlanArgs) -> Result<Outcome> {
    let r: DatasetRef = args
        .dataset
        .parse()
        .with_context(|| format!("'{}' is not NAME or NAME@N", args.dataset))?;
    let policy = PolicyFile::read(&args.policy)?;
    let mut session = ctx.session()?;
    let info = session.store().resolve(&r)?;
    let (store, stamp) = session.parts();
    let run = make_plan(
        store,
        stamp,
        &info,
        &PlanRequest {
            policy: &policy,
            budget: args.budget,
            label_cost: args.label_cost,
        },
    )?;
    super::gate::print_warnings(&run.warnings);
    let report = run.report;
    match args.format {
        Format::Json => print_json(&report)?,
        Format::Human => print_plan(&report),
    }
    Ok(Outcome::Success)
}
