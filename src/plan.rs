//! `overlap plan`: where a label budget should go across a policy's risk buckets.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::Args;

use super::output::{Format, num, opt_num, print_json, table};
use super::{Context, Outcome};
use overlap::analysis::service;
use overlap::app::policy_file::{PolicyFile, analysis_params};
use overlap::design::plan::{PlanReport, plan};
use overlap::model::DatasetRef;
use overlap::policy::DatasetContext;
use overlap::storage::NewPlan;

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
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Plans and records; used by the command and the demo.
pub(crate) fn make_plan(
    ctx: &Context,
    store: &mut overlap::storage::Store,
    info: &overlap::storage::VersionInfo,
    policy_path: &std::path::Path,
    budget: Option<f64>,
    label_cost: f64,
) -> Result<PlanReport> {
    if let Some(b) = budget {
        if !(b.is_finite() && b >= 0.0) {
            bail!("--budget must be a number ≥ 0");
        }
    }
    if !(label_cost.is_finite() && label_cost >= 0.0) {
        bail!("--label-cost must be a number ≥ 0");
    }
    let policy_file = PolicyFile::read(policy_path)?;
    let params = analysis_params(&policy_file.shape()?);
    let analyzed = service::compute(store, info, &params)?;
    let loaded = policy_file.load(Some(&DatasetContext::from_analysis(&analyzed.analysis)))?;
    super::gate::print_warnings(&loaded.warnings);
    let policy = loaded.policy;
    let registry = service::registry_view(store)?;
    let report = plan(
        &analyzed,
        &policy,
        &policy.name.value,
        &registry,
        budget,
        label_cost,
    )?;
    if let Some(why) = &report.not_planned {
        // A plan that buys nothing is not recorded: say why, rule by rule and bucket by bucket.
        let mut message = why.clone();
        for r in &report.rules {
            message.push_str(&format!("\n  rule {}: {}", r.rule, r.reason));
        }
        for s in &report.skipped {
            message.push_str(&format!("\n  bucket {}: {}", s.bucket, s.reason));
        }
        bail!(message);
    }
    store.record_plan(
        info,
        &NewPlan {
            policy_name: &policy.name.value,
            policy_digest: &policy.digest,
            budget,
            label_cost,
            plan: &serde_json::to_value(&report)?,
            now: &ctx.now(),
            actor: ctx.actor(),
        },
    )?;
    Ok(report)
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
    let mut store = ctx.open()?;
    let info = store.resolve(&r)?;
    let report = make_plan(
        ctx,
        &mut store,
        &info,
        &args.policy,
        args.budget,
        args.label_cost,
    )?;
    match args.format {
        Format::Json => print_json(&report)?,
        Format::Human => print_plan(&report),
    }
    Ok(Outcome::Success)
}
