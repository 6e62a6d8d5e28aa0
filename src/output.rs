//! Output helpers shared by commands: formats, JSON printing, plain-text tables, progress.

use std::io::{IsTerminal, Write};

use anyhow::Result;
use clap::ValueEnum;
use serde::Serialize;

/// `--format` of result-producing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Human,
    Json,
}

/// Prints a value as pretty JSON with a trailing newline.
pub(crate) fn print_json<T: Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Renders rows as left-aligned columns separated by two spaces. Cells are user data (bucket,
/// feature, arm names): hidden characters are shown as escapes, so no cell can move the cursor or
/// start a line.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| terminal(c).into_owned()).collect())
        .collect();
    let rows = &rows;
    let cols = header.len();
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            width[i] = width[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(width[i] - c.chars().count() + 2));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    for row in rows {
        line(row.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

/// Numbers for people: the library's one formatter, so the CLI prints a value as the reports and
/// the gate do.
pub(crate) use overlap::model::number::{format_number as num, format_optional as opt_num};

/// One user-supplied value on a terminal line (hidden characters shown as escapes).
pub(crate) use overlap::escape::terminal;

/// A progress bar on stderr that stays hidden when stderr is not a terminal.
/// The progress of an import on stderr: bytes (or Parquet rows) done of the total with the rate
/// and the time left, the rows so far, then the name of each step after reading; hidden when
/// stderr is not a terminal.
pub(crate) struct ImportBar {
    bar: indicatif::ProgressBar,
    file: String,
    sized: std::cell::Cell<bool>,
}

impl ImportBar {
    pub(crate) fn new(file: &str) -> ImportBar {
        ImportBar {
            bar: progress_bar(&format!("importing {file}")),
            file: file.to_string(),
            sized: std::cell::Cell::new(false),
        }
    }

    pub(crate) fn update(&self, p: overlap::app::dataset::ImportProgress) {
        use overlap::app::dataset::ImportProgress;
        use overlap::ingest::MeterUnit;
        match p {
            ImportProgress::Reading {
                rows,
                done,
                total: Some(total),
                unit,
            } => {
                if !self.sized.replace(true) {
                    let template = match unit {
                        MeterUnit::Bytes => {
                            "{msg} [{bar:30}] {percent:>3}% {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)"
                        }
                        MeterUnit::Rows => {
                            "{msg} [{bar:30}] {percent:>3}% {human_pos}/{human_len} rows ({rate}, {eta} left)"
                        }
                    };
                    self.bar.set_length(total);
                    self.bar.set_style(
                        indicatif::ProgressStyle::with_template(template)
                            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                            .with_key("rate", rows_per_second)
                            .progress_chars("=> "),
                    );
                }
                self.bar.set_position(done.min(total));
                if unit == MeterUnit::Bytes {
                    self.bar
                        .set_message(format!("importing {}: {rows} rows", self.file));
                }
            }
            ImportProgress::Reading { rows, .. } => self.bar.set_position(rows),
            ImportProgress::Phase(name) => {
                self.bar.set_style(
                    indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                self.bar
                    .set_message(format!("importing {}: {name}", self.file));
                self.bar.tick();
            }
        }
    }

    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// `12,345 rows/s`: a whole number (indicatif's own `{per_sec}` prints four decimals).
fn rows_per_second(state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write) {
    let _ = write!(
        w,
        "{}/s",
        indicatif::HumanCount(state.per_sec().max(0.0) as u64)
    );
}

pub(crate) fn progress_bar(message: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} {human_pos} rows ({rate})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner())
            .with_key("rate", rows_per_second),
    );
    bar.set_message(message.to_string());
    bar
}
