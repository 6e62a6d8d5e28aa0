//! `overlap registry …`: the hash-chained history of the intervention registry.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Subcommand;
use serde::Serialize;

use super::output::{Format, print_json};
use super::{Context, Outcome};

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Print every registry event, oldest first.
    Log {
        /// Output: `human` (text for people) or `json`.
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
        /// Also check a signed checkpoint (from `registry checkpoint`): the chain must still hold
        /// its event with its hash. Needs --public-key.
        #[arg(long, value_name = "FILE", requires = "public_key")]
        checkpoint: Option<PathBuf>,
        /// The public key that signed the checkpoint.
        #[arg(long, value_name = "FILE", requires = "checkpoint")]
        public_key: Option<PathBuf>,
        /// Output: `human` (text for people) or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Sign a checkpoint of the chain head with the project key, to keep outside the database
    /// (CI artefact, release notes): `registry verify --checkpoint` then detects a rewritten or
    /// truncated history.
    Checkpoint {
        /// The secret key (from `overlap key generate`).
        #[arg(long, value_name = "KEY")]
        sign: PathBuf,
        /// Write the checkpoint here instead of stdout.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
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
        RegistryCommand::Checkpoint { sign, output } => {
            let key = overlap::app::report::read_secret_key(&sign)?;
            let text = overlap::app::verify::registry_checkpoint(&store, &key)?;
            match output {
                None => print!("{text}"),
                Some(path) => {
                    super::keys::write_new(&path, text.as_bytes(), 0o644, false)?;
                    eprintln!("wrote {}", path.display());
                }
            }
            Ok(Outcome::Success)
        }
        RegistryCommand::Verify {
            expect_head,
            checkpoint,
            public_key,
            format,
        } => {
            let checkpoint_problem = match (&checkpoint, &public_key) {
                (Some(file), Some(key)) => {
                    let read = |p: &PathBuf, what: &str| {
                        std::fs::read_to_string(p)
                            .with_context(|| format!("cannot read {what} {}", p.display()))
                    };
                    overlap::app::verify::check_checkpoint(
                        &store,
                        &read(file, "checkpoint")?,
                        &read(key, "public key")?,
                    )?
                }
                _ => None,
            };
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
            let head_mismatch =
                head_mismatch.or(checkpoint_problem.map(|p| format!("checkpoint: {p}")));
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
