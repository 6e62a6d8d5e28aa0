//! `overlap store …`: checks over everything the database holds.

use anyhow::Result;
use clap::Subcommand;

use super::output::{Format, print_json, progress_bar};
use super::{Context, Outcome};

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Verify every stored fact: the registry chain and its current state, every dataset
    /// version's rows, digest and columnar data, and the bindings of recorded analyses,
    /// evaluations, audit verdicts, plans and reports. Exit 0 when everything verifies, 1 naming the first broken fact.
    Verify {
        /// Output: `human` (text for people) or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

pub(crate) fn run(ctx: &Context, cmd: StoreCommand) -> Result<Outcome> {
    let store = ctx.open()?;
    match cmd {
        StoreCommand::Verify { format } => {
            let bar = progress_bar("verifying");
            let check = overlap::app::verify::verify_store(&store, |info| {
                bar.set_message(format!("verifying {}", info.label()));
                bar.inc(info.n);
            })?;
            bar.finish_and_clear();
            match format {
                Format::Json => {
                    #[derive(serde::Serialize)]
                    struct Report<'a> {
                        intact: bool,
                        first_broken: Option<String>,
                        #[serde(flatten)]
                        check: &'a overlap::app::verify::StoreCheck,
                    }
                    print_json(&Report {
                        intact: check.intact(),
                        first_broken: check.first_broken(),
                        check: &check,
                    })?
                }
                Format::Human => {
                    let versions = check.versions.len();
                    let rows: u64 = check.versions.iter().map(|v| v.rows_checked).sum();
                    match check.first_broken() {
                        None => println!("store intact"),
                        Some(b) => println!("store BROKEN: {b}"),
                    }
                    println!(
                        "  registry: {} events, head {}",
                        check.registry_events, check.registry_head
                    );
                    println!("  datasets: {versions} versions, {rows} rows");
                    println!(
                        "  results: {} analyses, {} evaluations, {} audit verdicts, {} plans, {} reports",
                        check.analyses,
                        check.evaluations,
                        check.verdicts,
                        check.plans,
                        check.reports
                    );
                    if check.unbound_results > 0 {
                        println!(
                            "  {} results recorded before bindings existed cannot be verified and are never reused",
                            check.unbound_results
                        );
                    }
                }
            }
            Ok(if check.intact() {
                Outcome::Success
            } else {
                Outcome::Failure
            })
        }
    }
}
