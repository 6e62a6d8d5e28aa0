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
    /// Recompute the hash chain and check the current state (intervention versions, retirements,
    /// acceptance observations) against its events: exit 0 when intact, 1 naming the first break.
    Verify {
        /// Also require the chain to end at this head (from a signed report or a kept
        /// checkpoint), so a rewritten or truncated history is caught.
        #[arg(long, value_name = "HASH")]
        expect_head: Option<String>,
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
        RegistryCommand::Verify {
            expect_head,
            format,
        } => {
            let (checked, chain) = store.verify_registry()?;
            let state = store.verify_registry_state()?;
            let head = store.registry_head()?;
            let head_mismatch = expect_head
                .as_deref()
                .map(str::trim)
                .filter(|want| !want.eq_ignore_ascii_case(&head))
                .map(|want| {
                    format!(
                        "the chain ends at {head}, not at the expected head {want}: the history was rewritten, truncated or extended since"
                    )
                });
            let intact = chain.is_none() && state.is_none() && head_mismatch.is_none();
            #[derive(Serialize)]
            struct Report<'a> {
                intact: bool,
                events_checked: u64,
                head: &'a str,
                first_broken: Option<&'a overlap::storage::ChainBreak>,
                state_broken: Option<&'a overlap::storage::StateBreak>,
                head_mismatch: Option<&'a str>,
            }
            match format {
                Format::Json => print_json(&Report {
                    intact,
                    events_checked: checked,
                    head: &head,
                    first_broken: chain.as_ref(),
                    state_broken: state.as_ref(),
                    head_mismatch: head_mismatch.as_deref(),
                })?,
                Format::Human => {
                    if let Some(b) = &chain {
                        println!(
                            "registry BROKEN at event {}: {} ({checked} events verified before it)",
                            b.seq, b.reason
                        );
                    } else if let Some(b) = &state {
                        println!(
                            "registry BROKEN: intervention '{}': {} (the chain of {checked} events is intact)",
                            b.subject, b.reason
                        );
                    } else if let Some(m) = &head_mismatch {
                        println!("registry BROKEN: {m}");
                    } else {
                        println!("registry intact: {checked} events, head {head}");
                    }
                }
            }
            Ok(if intact {
                Outcome::Success
            } else {
                Outcome::Failure
            })
        }
    }
}
