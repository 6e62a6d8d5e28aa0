//! `overlap compare A B`: two versions' per-bucket overlap side by side.

use anyhow::{Context as _, Result};
use clap::Args;

use super::output::{Format, num, opt_num, print_json, table, terminal};
use super::{Context, Outcome};
use overlap::app::compare::{Side, compare};
use overlap::model::DatasetRef;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    overlap compare demo@1 demo@2\n  \
    overlap compare hh hh-relabeled --format json")]
pub struct CompareArgs {
    /// The first version, NAME or NAME@V.
    pub from: String,
    /// The second version, NAME or NAME@V.
    pub to: String,
    /// Output: `human` (text for people) or `json`.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

fn parse(s: &str) -> Result<DatasetRef> {
    s.parse()
        .with_context(|| format!("'{s}' is not NAME or NAME@N"))
}

pub(crate) fn run(ctx: &Context, args: CompareArgs) -> Result<Outcome> {
    let mut session = ctx.session()?;
    let a = session.store().resolve(&parse(&args.from)?)?;
    let b = session.store().resolve(&parse(&args.to)?)?;
    let c = compare(&mut session, &a, &b)?;
    match args.format {
        Format::Json => print_json(&c)?,
        Format::Human => {
            println!("{} → {} (the same features and scales)", c.from, c.to);
            let cell = |s: &Option<Side>, f: &dyn Fn(&Side) -> String| {
                s.as_ref().map_or_else(|| "—".to_string(), f)
            };
            let rows: Vec<Vec<String>> = c
                .buckets
                .iter()
                .map(|p| {
                    vec![
                        format!(
                            "{}{}",
                            terminal(&p.bucket),
                            if p.scope_differs { " *" } else { "" }
                        ),
                        cell(&p.from, &|s| s.n.to_string()),
                        cell(&p.to, &|s| s.n.to_string()),
                        cell(&p.from, &|s| num(s.lambda_min)),
                        cell(&p.to, &|s| num(s.lambda_min)),
                        cell(&p.from, &|s| opt_num(s.condition_number)),
                        cell(&p.to, &|s| opt_num(s.condition_number)),
                        cell(&p.from, &|s| opt_num(s.worst_se)),
                        cell(&p.to, &|s| opt_num(s.worst_se)),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(
                    &[
                        "bucket",
                        "n A",
                        "n B",
                        "λ_min A",
                        "λ_min B",
                        "κ A",
                        "κ B",
                        "worst SE A",
                        "worst SE B"
                    ],
                    &rows
                )
            );
            if c.buckets.iter().any(|p| p.scope_differs) {
                println!(
                    "* the default scope differs (a feature is absent in one version): λ_min, κ and SE are over other features"
                );
            }
            for p in &c.buckets {
                if let (Some(x), Some(y)) = (&p.from, &p.to) {
                    if x.weakest_direction != y.weakest_direction {
                        println!(
                            "  {}: weakest direction {} → {}",
                            terminal(&p.bucket),
                            terminal(&x.weakest_direction),
                            terminal(&y.weakest_direction)
                        );
                    }
                }
            }
        }
    }
    Ok(Outcome::Success)
}
