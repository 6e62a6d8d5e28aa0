//! The `overlap` binary, a thin front end over the library: argument definitions, one file per
//! command group, output writers and the exit-code decision.
//!
//! Arguments are turned into library calls here and nowhere else; the library never sees clap. The
//! exit code is decided in one place, [`exit_code`]: 0 success, 1 a negative verdict (a failing gate,
//! a broken registry chain, a failed verification), 2 usage, input or tool errors.

mod analyze;
mod audit;
mod color;
mod compare;
mod dataset;
mod demo;
mod design;
mod design_next;
mod errors;
mod examples;
mod gate;
mod intervention;
mod keys;
mod output;
mod plan;
mod registry;
mod report;
mod simulate;
mod store;

/// mimalloc: the design solvers allocate many small matrices per iteration, and glibc's
/// allocator was a fifth of their time (see ARCHITECTURE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, Subcommand};

use overlap::app::{Session, Stamp};
use overlap::storage::Store;

/// What a command concluded, when it ran to completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Success: exit 0.
    Success,
    /// A negative verdict: exit 1.
    Failure,
}

#[derive(Debug, Parser)]
#[command(
    name = "overlap",
    version,
    about = "Governance for preference-learning data: overlap analysis, SLO gates, intervention design and signed reports",
    long_about = None,
    propagate_version = true,
    after_help = "Examples:\n  \
        overlap demo\n  \
        overlap dataset import hh tests/data/hh-rlhf/hh-rlhf-harmless-test.jsonl.gz && overlap analyze hh\n  \
        overlap gate hh --policy policies/text-release-gate.yaml --format github"
)]
pub struct Cli {
    /// The SQLite database file.
    #[arg(long, global = true, env = "OVERLAP_DB", default_value = "overlap.db")]
    pub db: PathBuf,
    /// Who is acting (recorded in history); defaults to OVERLAP_ACTOR, then the OS user.
    #[arg(long, global = true, env = "OVERLAP_ACTOR")]
    pub actor: Option<String>,
    /// How long a write waits for another command's lock on the database, in seconds.
    #[arg(long, global = true, env = "OVERLAP_WAIT", default_value = "30", value_name = "SECONDS", value_parser = parse_wait)]
    pub wait: Duration,
    /// Colour: `auto` (on a terminal, unless NO_COLOR is set), `always` or `never`.
    #[arg(long, global = true, value_enum, default_value_t, value_name = "WHEN")]
    pub color: color::ColorArg,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the database (or bring an existing one up to date).
    Init {
        /// Output: `human` (text for people) or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: output::Format,
    },
    /// Register, version, retire interventions and record their acceptance.
    #[command(subcommand)]
    Intervention(intervention::InterventionCommand),
    /// The registry's hash-chained history.
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// Import, list, show, diff, export and verify immutable dataset versions.
    #[command(subcommand)]
    Dataset(dataset::DatasetCommand),
    /// Verify everything the database holds.
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// Fit the BTL model and measure overlap per risk bucket.
    Analyze(analyze::AnalyzeArgs),
    /// Two versions' per-bucket overlap side by side (same features and scales required).
    Compare(compare::CompareArgs),
    /// Evaluate a YAML overlap-SLO policy on a dataset version (exit 0 pass, 1 fail, 2 error).
    Gate(gate::GateArgs),
    /// Draw audit samples along weakest directions, record reviewers' verdicts, show audit evidence.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Check overlap-SLO policy files.
    #[command(subcommand)]
    Policy(gate::PolicyCommand),
    /// Optimal intervention mixtures for a bucket (or for a design instance file).
    Design(design::DesignArgs),
    /// Plan a label budget across a policy's risk buckets (knapsack with coverage).
    Plan(plan::PlanArgs),
    /// Ed25519 signing keys for reports.
    #[command(subcommand)]
    Key(keys::KeyCommand),
    /// Verify a signed report offline: exit 0 when valid, 1 otherwise (fails closed).
    Verify(keys::VerifyArgs),
    /// Render nutrition labels and design-adequacy reports (md, html, json), optionally signed.
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Run the collection loop on a scenario whose truth is known and compare strategies.
    Simulate(simulate::SimulateArgs),
    /// Build a complete example from the embedded default and print what to run next.
    Demo(demo::DemoArgs),
    /// Print a shell completion script (e.g. `overlap completions bash > ~/.local/share/bash-completion/completions/overlap`).
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the manual pages: `overlap.1` to stdout, or one page per command into DIR.
    Man {
        /// A folder (created if missing) for overlap.1, overlap-dataset.1, overlap-dataset-import.1, ….
        #[arg(long, value_name = "DIR")]
        output: Option<PathBuf>,
    },
}

/// The command line as parsed and documented: the derived definition with the examples every
/// `--help` ends with (also what completions and manual pages are made from).
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    examples::with_examples(Cli::command())
}

/// Runs the command line and returns the process exit code.
fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let json = errors::wants_json(&args);
    use clap::FromArgMatches as _;
    let cli = match command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) if json && e.use_stderr() => {
            eprintln!("{}", errors::usage_json(&e.render().to_string()));
            return ExitCode::from(2);
        }
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    color::init(cli.color);
    VERDICT.store(
        is_verdict(&cli.command),
        std::sync::atomic::Ordering::Relaxed,
    );
    let code = exit_code(run(cli), json);
    report_peak_memory();
    code
}

/// Exit code of a verdict command whose stdout was closed early (`overlap gate … | head`): 128 +
/// SIGPIPE, as a shell reports a process killed by the signal. Never 0: a failing gate piped into
/// `head` must not pass.
const CLOSED_STDOUT: u8 = 141;

/// Whether the running command's exit code is a verdict (set once the command line is parsed;
/// until then, the safe answer).
static VERDICT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Commands whose exit code is a verdict: the gate, the verifications and the policy lint. Every
/// other command ends with 0 when its reader stops early (`overlap demo | head -3`): the reader
/// had what it wanted, and what the command writes to the store is committed before it prints.
fn is_verdict(command: &Command) -> bool {
    matches!(
        command,
        Command::Gate(gate::GateArgs { command: None, .. })
            | Command::Verify(_)
            | Command::Store(_)
            | Command::Policy(_)
            | Command::Registry(registry::RegistryCommand::Verify { .. })
            | Command::Dataset(dataset::DatasetCommand::Verify { .. })
    )
}

/// The exit code when stdout was closed early.
fn closed_stdout_code() -> u8 {
    if VERDICT.load(std::sync::atomic::Ordering::Relaxed) {
        CLOSED_STDOUT
    } else {
        0
    }
}

/// `println!` panics when stdout is a closed pipe (Rust ignores SIGPIPE); that is not a bug to
/// report but the reader leaving, so the process ends quietly ([`closed_stdout_code`]).
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(i32::from(closed_stdout_code()));
        }
        default(info);
    }));
}

fn is_closed_stdout(e: &anyhow::Error) -> bool {
    let broken = Some(std::io::ErrorKind::BrokenPipe);
    e.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().map(|io| io.kind()) == broken
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == broken
            || cause
                .downcast_ref::<csv::Error>()
                .is_some_and(|c| match c.kind() {
                    csv::ErrorKind::Io(io) => Some(io.kind()) == broken,
                    _ => false,
                })
    })
}

/// With OVERLAP_REPORT_PEAK_MEMORY set, prints the process's peak resident memory (VmHWM) to stderr,
/// so benchmarks can measure the real binary without extra tools.
fn report_peak_memory() {
    if std::env::var_os("OVERLAP_REPORT_PEAK_MEMORY").is_none() {
        return;
    }
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        });
    match peak {
        Some(kb) => eprintln!("peak memory: {kb} kB"),
        None => eprintln!("peak memory: n/a"),
    }
}

/// The single place where results become exit codes (and errors are printed: as text, or as
/// one JSON object under `--format json`).
pub fn exit_code(result: Result<Outcome>, json: bool) -> ExitCode {
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failure) => ExitCode::from(1),
        Err(e) if is_closed_stdout(&e) => ExitCode::from(closed_stdout_code()),
        Err(e) if json => {
            eprintln!("{}", errors::error_json(&e));
            ExitCode::from(2)
        }
        Err(e) => {
            match errors::policy_errors(&e) {
                // A policy with errors: its warnings, then its errors, each already carrying its
                // own `warning[…]`/`error[…]` prefix, then one summary line.
                Some(p) => {
                    for d in p.diagnostics.iter().filter(|d| !d.is_error()) {
                        anstream::eprintln!("{}", color::diagnostic(&d.to_string()));
                    }
                    let text = p.to_string();
                    for line in text.lines() {
                        anstream::eprintln!("{}", color::diagnostic(line));
                    }
                }
                None => anstream::eprintln!("{}", color::diagnostic(&format!("error: {e:#}"))),
            }
            ExitCode::from(2)
        }
    }
}

/// Context shared by commands: where the database is, who acts and when the command started.
pub struct Context {
    pub db: PathBuf,
    /// How long writes wait for another command's lock (`--wait`).
    pub wait: Duration,
    /// The clock (read once, when the command starts) and the actor: every record a command
    /// writes carries the same instant, and "today" is that instant's UTC date.
    pub stamp: Stamp,
}

impl Context {
    pub fn open(&self) -> Result<Store> {
        let mut store = Store::open(&self.db)?;
        store.set_busy_timeout(self.wait)?;
        Ok(store)
    }

    /// The store with the command's stamp, for the use cases.
    pub fn session(&self) -> Result<Session> {
        Ok(Session::new(self.open()?, self.stamp.clone()))
    }

    /// The command's instant as RFC 3339 UTC.
    pub fn now(&self) -> String {
        self.stamp.now()
    }

    /// The command's UTC date (the default `--today` of the gate and reports).
    pub fn today(&self) -> chrono::NaiveDate {
        self.stamp.today()
    }

    pub fn actor(&self) -> &str {
        self.stamp.actor()
    }
}

/// `--wait`: non-negative seconds, fractions allowed.
fn parse_wait(s: &str) -> Result<Duration, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| format!("expected a non-negative number of seconds, got '{s}'"))
}

/// The OS user: `$USER` (or `LOGNAME`, `USERNAME`), else the account name of the process's uid
/// (containers often run as root with no `$USER`), else `uid-N`; "unknown" only where neither the
/// environment nor `/proc` says.
fn default_actor() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .or_else(account_of_uid)
        .unwrap_or_else(|| "unknown".to_string())
}

/// The name `/etc/passwd` gives the real uid of this process (from `/proc/self/status`).
fn account_of_uid() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let name = passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let _password = fields.next()?;
        (fields.next()? == uid && !name.is_empty()).then(|| name.to_string())
    });
    Some(name.unwrap_or_else(|| format!("uid-{uid}")))
}

pub fn run(cli: Cli) -> Result<Outcome> {
    let actor = cli
        .actor
        .filter(|a| !a.is_empty())
        .unwrap_or_else(default_actor);
    let ctx = Context {
        db: cli.db,
        wait: cli.wait,
        stamp: Stamp::new(chrono::Utc::now(), actor),
    };
    match cli.command {
        Command::Init { format } => {
            let (_, before) = Store::init(&ctx.db)?;
            let now = overlap::storage::schema_version();
            let db = ctx.db.display();
            match format {
                output::Format::Json => output::print_json(&serde_json::json!({
                    "database": db.to_string(),
                    "schema_version": now,
                    "previous_schema_version": before,
                    "created": before == 0,
                }))?,
                output::Format::Human if before == 0 => {
                    println!("created {db} (schema version {now})")
                }
                output::Format::Human if before < now => {
                    println!("upgraded {db} from schema version {before} to {now}")
                }
                output::Format::Human => {
                    println!("{db} is already initialized (schema version {now})")
                }
            }
            Ok(Outcome::Success)
        }
        Command::Intervention(cmd) => intervention::run(&ctx, cmd),
        Command::Registry(cmd) => registry::run(&ctx, cmd),
        Command::Store(cmd) => store::run(&ctx, cmd),
        Command::Dataset(cmd) => dataset::run(&ctx, cmd),
        Command::Analyze(args) => analyze::run(&ctx, args),
        Command::Compare(args) => compare::run(&ctx, args),
        Command::Gate(args) => gate::run(&ctx, args),
        Command::Audit(cmd) => audit::run(&ctx, cmd),
        Command::Policy(cmd) => gate::run_policy(&ctx, cmd),
        Command::Design(args) => design::run(&ctx, args),
        Command::Plan(args) => plan::run(&ctx, args),
        Command::Key(cmd) => keys::run_key(cmd),
        Command::Verify(args) => keys::run_verify(args),
        Command::Report(cmd) => report::run(&ctx, cmd),
        Command::Simulate(args) => simulate::run(&ctx, args),
        Command::Demo(args) => demo::run(&ctx, args),
        Command::Completions { shell } => {
            // Rendered into memory first: clap_complete panics when its writer fails (a closed
            // pipe), while a failed write here ends the command like any other closed stdout.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command(), "overlap", &mut script);
            let mut out = std::io::stdout().lock();
            std::io::Write::write_all(&mut out, &script)?;
            std::io::Write::flush(&mut out)?;
            Ok(Outcome::Success)
        }
        Command::Man { output } => {
            match output {
                Some(dir) => {
                    std::fs::create_dir_all(&dir)
                        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
                    clap_mangen::generate_to(command(), &dir)
                        .map_err(|e| anyhow::anyhow!("cannot write into {}: {e}", dir.display()))?;
                    eprintln!("wrote the manual pages into {}", dir.display());
                }
                None => {
                    let mut out = std::io::stdout().lock();
                    clap_mangen::Man::new(command()).render(&mut out)?;
                    std::io::Write::flush(&mut out)?;
                }
            }
            Ok(Outcome::Success)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_well_formed() {
        command().debug_assert();
    }

    /// Every command has a one-line description, examples at the end of its help, and every
    /// argument a help text.
    #[test]
    fn every_command_and_argument_is_described() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            if cmd.get_about().is_none() && path != "overlap" {
                missing.push(format!("{path}: no description"));
            }
            let examples = cmd
                .get_after_help()
                .is_some_and(|h| h.to_string().starts_with("Examples:\n"));
            if !examples {
                missing.push(format!("{path}: no examples at the end of --help"));
            }
            for arg in cmd.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && !arg.is_hide_set() && arg.get_help().is_none() {
                    missing.push(format!("{path} {}: no help", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_name() != "help" {
                    walk(sub, &format!("{path} {}", sub.get_name()), missing);
                }
            }
        }
        let mut missing = Vec::new();
        walk(&command(), "overlap", &mut missing);
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }
}
