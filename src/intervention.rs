//! `overlap intervention …`: the registry of interventions.

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::output::{Format, num, opt_num, print_json, table};
use super::{Context, Outcome};
use overlap::model::{AcceptanceObservation, Intervention, InterventionSpec, Name};

#[derive(Debug, Subcommand)]
pub enum InterventionCommand {
    /// Register a new intervention (version 1).
    Add {
        /// The intervention's name (letters, digits, `-`, `_`, `.`).
        name: String,
        #[command(flatten)]
        spec: SpecArgs,
        /// Output: `human` (text for people) or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Make version N+1 with the options given (others keep their values).
    Update {
        /// The intervention to version.
        name: String,
        #[command(flatten)]
        spec: SpecArgs,
        /// Output: `human` (text for people) or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Retire an intervention: new imports can no longer reference it.
    Retire {
        /// The intervention to retire.
        name: String,
        /// Why it is retired (recorded in the registry history).
        #[arg(long)]
        reason: String,
        /// Output: `human` (text for people) or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Record an acceptance observation: how often the edit produced a valid output.
    Acceptance {
        /// The intervention observed.
        name: String,
        /// The risk bucket the attempts were made in.
        #[arg(long)]
        bucket: String,
        /// Edit attempts made.
        #[arg(long)]
        attempts: u64,
        /// Attempts whose output was valid (at most --attempts).
        #[arg(long)]
        accepted: u64,
        /// A note kept with the observation (e.g. the run or reviewer).
        #[arg(long)]
        note: Option<String>,
        /// Output: `human` (text for people) or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// List interventions (latest versions).
    List {
        /// Output: `human` (text for people) or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Show one intervention (NAME or NAME@N) with acceptance per bucket.
    Show {
        /// NAME (the latest version) or NAME@N.
        name: String,
        /// Output: `human` (text for people) or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

#[derive(Debug, Args)]
pub struct SpecArgs {
    /// The family of edits (e.g. length, format, tone).
    #[arg(long)]
    family: Option<String>,
    /// What the intervention is for.
    #[arg(long)]
    intent: Option<String>,
    /// Cost of one edit attempt.
    #[arg(long)]
    cost: Option<f64>,
    /// A feature the intervention is meant to move (repeatable).
    #[arg(long = "target")]
    targets: Vec<String>,
    /// A feature it may also move (repeatable).
    #[arg(long = "confound")]
    confounds: Vec<String>,
    /// Who answers for the intervention (a person or team).
    #[arg(long)]
    owner: Option<String>,
    /// What the edit does, in a sentence.
    #[arg(long)]
    description: Option<String>,
}

fn check_spec(spec: &InterventionSpec) -> Result<()> {
    if spec.family.trim().is_empty() {
        bail!("--family must not be empty");
    }
    if spec.intent.trim().is_empty() {
        bail!("--intent must not be empty");
    }
    if !spec.cost.is_finite() || spec.cost < 0.0 {
        bail!("--cost must be a finite number ≥ 0, found {}", spec.cost);
    }
    for f in spec.targets.iter().chain(&spec.confounds) {
        if f.trim().is_empty() {
            bail!("--target and --confound take feature names, found an empty one");
        }
    }
    Ok(())
}

fn new_spec(args: SpecArgs) -> Result<InterventionSpec> {
    let spec = InterventionSpec {
        family: args
            .family
            .context("--family is required for a new intervention")?,
        intent: args
            .intent
            .context("--intent is required for a new intervention")?,
        cost: args
            .cost
            .context("--cost is required for a new intervention")?,
        targets: args.targets,
        confounds: args.confounds,
        owner: args.owner,
        description: args.description,
    };
    check_spec(&spec)?;
    Ok(spec)
}

fn merged_spec(before: &InterventionSpec, args: SpecArgs) -> Result<InterventionSpec> {
    let spec = InterventionSpec {
        family: args.family.unwrap_or_else(|| before.family.clone()),
        intent: args.intent.unwrap_or_else(|| before.intent.clone()),
        cost: args.cost.unwrap_or(before.cost),
        targets: if args.targets.is_empty() {
            before.targets.clone()
        } else {
            args.targets
        },
        confounds: if args.confounds.is_empty() {
            before.confounds.clone()
        } else {
            args.confounds
        },
        owner: args.owner.or_else(|| before.owner.clone()),
        description: args.description.or_else(|| before.description.clone()),
    };
    check_spec(&spec)?;
    Ok(spec)
}

fn print_intervention(i: &Intervention) {
    println!("{}@{}  ({})", i.name, i.version, i.spec.family);
    println!("  intent:      {}", i.spec.intent);
    println!("  cost:        {}", num(i.spec.cost));
    println!("  targets:     {}", list_or_dash(&i.spec.targets));
    println!("  confounds:   {}", list_or_dash(&i.spec.confounds));
    if let Some(o) = &i.spec.owner {
        println!("  owner:       {o}");
    }
    if let Some(d) = &i.spec.description {
        println!("  description: {d}");
    }
    println!("  created:     {} by {}", i.created_at, i.created_by);
    if let Some(r) = &i.retired {
        println!("  RETIRED:     {} by {}: {}", r.at, r.by, r.reason);
    }
}

fn list_or_dash(v: &[String]) -> String {
    if v.is_empty() {
        "—".into()
    } else {
        v.join(", ")
    }
}

pub(crate) fn run(ctx: &Context, cmd: InterventionCommand) -> Result<Outcome> {
    match cmd {
        InterventionCommand::Add { name, spec, format } => {
            let name = Name::parse(&name).context("invalid intervention name")?;
            let spec = new_spec(spec)?;
            let mut store = ctx.open()?;
            let created = store.add_intervention(name.as_str(), &spec, ctx.actor(), &ctx.now())?;
            match format {
                Format::Json => print_json(&created)?,
                Format::Human => println!("added {}@{}", created.name, created.version),
            }
        }
        InterventionCommand::Update { name, spec, format } => {
            let mut store = ctx.open()?;
            let before = store.intervention(&name, None)?;
            let spec = merged_spec(&before.spec, spec)?;
            let created = store.update_intervention(&name, &spec, ctx.actor(), &ctx.now())?;
            match format {
                Format::Json => print_json(&created)?,
                Format::Human => {
                    println!("updated {}: now version {}", created.name, created.version)
                }
            }
        }
        InterventionCommand::Retire {
            name,
            reason,
            format,
        } => {
            if reason.trim().is_empty() {
                bail!("--reason must not be empty");
            }
            let mut store = ctx.open()?;
            store.retire_intervention(&name, &reason, ctx.actor(), &ctx.now())?;
            match format {
                Format::Json => print_json(&serde_json::json!({
                    "name": name,
                    "retired": true,
                    "reason": reason,
                }))?,
                Format::Human => println!("retired {name}"),
            }
        }
        InterventionCommand::Acceptance {
            name,
            bucket,
            attempts,
            accepted,
            note,
            format,
        } => {
            if attempts == 0 {
                bail!("--attempts must be at least 1");
            }
            if accepted > attempts {
                bail!("--accepted ({accepted}) cannot exceed --attempts ({attempts})");
            }
            if bucket.trim().is_empty() {
                bail!("--bucket must not be empty");
            }
            let mut store = ctx.open()?;
            let current = store.intervention(&name, None)?;
            if current.retired.is_some() {
                bail!("intervention '{name}' is retired");
            }
            let now = ctx.now();
            store.record_acceptance(
                &name,
                &AcceptanceObservation {
                    bucket: bucket.clone(),
                    attempts,
                    accepted,
                    note,
                    recorded_at: now,
                    recorded_by: ctx.actor().to_owned(),
                },
            )?;
            match format {
                Format::Json => print_json(&serde_json::json!({
                    "name": name,
                    "bucket": bucket,
                    "attempts": attempts,
                    "accepted": accepted,
                }))?,
                Format::Human => {
                    println!(
                        "recorded {accepted}/{attempts} accepted for {name} in bucket {bucket}"
                    )
                }
            }
        }
        InterventionCommand::List { format } => {
            let store = ctx.open()?;
            let all = store.interventions()?;
            match format {
                Format::Json => print_json(&all)?,
                Format::Human => {
                    if all.is_empty() {
                        println!(
                            "no interventions registered: add one with `overlap intervention add`"
                        );
                    } else {
                        let rows: Vec<Vec<String>> = all
                            .iter()
                            .map(|i| {
                                vec![
                                    i.name.clone(),
                                    i.version.to_string(),
                                    i.spec.family.clone(),
                                    num(i.spec.cost),
                                    list_or_dash(&i.spec.targets),
                                    list_or_dash(&i.spec.confounds),
                                    if i.retired.is_some() {
                                        "retired"
                                    } else {
                                        "active"
                                    }
                                    .into(),
                                ]
                            })
                            .collect();
                        print!(
                            "{}",
                            table(
                                &[
                                    "name",
                                    "version",
                                    "family",
                                    "cost",
                                    "targets",
                                    "confounds",
                                    "status"
                                ],
                                &rows
                            )
                        );
                    }
                }
            }
        }
        InterventionCommand::Show { name, format } => {
            let store = ctx.open()?;
            let (base, version) = match name.split_once('@') {
                Some((n, v)) => (
                    n.to_string(),
                    Some(v.parse::<u32>().with_context(|| {
                        format!("'{name}': expected NAME or NAME@N with N a version number")
                    })?),
                ),
                None => (name.clone(), None),
            };
            let i = store.intervention(&base, version)?;
            let history = store.intervention_history(&base)?;
            let acceptance = overlap::model::intervention::acceptance_by_bucket(
                i.spec.cost,
                &store.acceptance_observations(&base)?,
            );
            match format {
                Format::Json => {
                    #[derive(Serialize)]
                    struct Show<'a> {
                        #[serde(flatten)]
                        intervention: &'a Intervention,
                        versions: Vec<u32>,
                        acceptance: &'a [overlap::model::intervention::BucketAcceptance],
                    }
                    print_json(&Show {
                        intervention: &i,
                        versions: history.iter().map(|h| h.version).collect(),
                        acceptance: &acceptance,
                    })?;
                }
                Format::Human => {
                    print_intervention(&i);
                    println!(
                        "  versions:    {}",
                        history
                            .iter()
                            .map(|h| h.version.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    if acceptance.is_empty() {
                        println!("  acceptance:  no observations");
                    } else {
                        println!("  acceptance by bucket:");
                        let rows: Vec<Vec<String>> = acceptance
                            .iter()
                            .map(|a| {
                                vec![
                                    a.bucket.clone(),
                                    format!("{}/{}", a.accepted, a.attempts),
                                    num(a.acceptance_rate),
                                    format!("[{}, {}]", num(a.wilson_low), num(a.wilson_high)),
                                    opt_num(a.effective_cost),
                                ]
                            })
                            .collect();
                        for line in table(
                            &["bucket", "accepted", "rate", "wilson 95%", "effective cost"],
                            &rows,
                        )
                        .lines()
                        {
                            println!("    {line}");
                        }
                    }
                }
            }
        }
    }
    Ok(Outcome::Success)
}
