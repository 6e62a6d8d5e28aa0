//! `overlap registry …`: the hash-chained history of the intervention registry.

use anyhow::Result;
use clap::Subcommand;
use serde::Serialize;

use super::output::{Format, print_json};
use super::{Context, Outcome};

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Print every registry event, oldest first.
    Log {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Recompute the hash chain: exit 0 when intact, 1 naming the first broken event.
    Verify {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

pub(crate) fn run(ctx: &Context, cmd: RegistryCommand) -> Result<Outcome> {
    let store = ctx.open()?;
    match cmd {
        RegistryCommand::Log { format } => {
            let events = store.registry_events()?;
            match format {
                Format::Json => print_json(&events)?,
                Format::Human => {
                    for e in &events {
                        println!(
                            "#{:<4} {}  {:<10} {:<20} by {}  {}",
                            e.seq,
                            e.at,
                            e.kind,
                            e.subject,
                            e.actor,
                            &e.hash[..12.min(e.hash.len())]
                        );
                    }
                    if events.is_empty() {
                        println!("the registry has no events yet");
                    }
                }
            }
            Ok(Outcome::Success)
        }
        RegistryCommand::Verify { format } => {
            let (checked, broken) = store.verify_registry()?;
            let head = store.registry_head()?;
            #[derive(Serialize)]
            struct Report<'a> {
                intact: bool,
                events_checked: u64,
                head: &'a str,
                first_broken: Option<&'a overlap::storage::ChainBreak>,
            }
            match format {
                Format::Json => print_json(&Report {
                    intact: broken.is_none(),
                    events_checked: checked,
                    head: &head,
                    first_broken: broken.as_ref(),
                })?,
                Format::Human => match &broken {
                    None => println!("registry intact: {checked} events, head {head}"),
                    Some(b) => println!(
                        "registry BROKEN at event {}: {} ({checked} events verified before it)",
                        b.seq, b.reason
                    ),
                },
            }
            Ok(if broken.is_none() {
                Outcome::Success
            } else {
                Outcome::Failure
            })
        }
    }
}
