//! `report card`: the dataset card other tools read, written into one folder in one transaction:
//! `croissant.json` (Croissant 1.0 with the Responsible-AI vocabulary from the overlap findings),
//! `README.md` (a Hugging Face dataset card: YAML header, then the nutrition label's Markdown) and
//! `data/NAME-vV.jsonl` (the records the two describe, re-importable to the version's digest). The
//! gate run is recorded as `gate` records it; the files are moved into place after the commit, and
//! none of them may exist yet.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::policy_file::PolicyFile;
use super::report::{ReportRequest, gate_and_view};
use super::staging::{self, Staged};
use super::{AppError, Stamp};
use crate::model::VersionInfo;
use crate::policy::{Diagnostic, GateVerdict};
use crate::report::croissant::{CardInputs, croissant, hugging_face_header};
use crate::report::render::{ReportFormat, Templates, render};
use crate::report::view::ReportKind;
use crate::storage::Store;

/// What to write.
#[derive(Debug, Clone, Copy)]
pub struct CardRequest<'a> {
    pub policy: &'a PolicyFile,
    /// The folder (created when missing).
    pub output: &'a Path,
    /// The card's date (waivers are checked against it).
    pub date: NaiveDate,
    /// An SPDX license id or URL for both cards.
    pub license: Option<&'a str>,
    pub recompute: bool,
}

/// What [`write_card`] wrote.
#[derive(Debug, Clone)]
pub struct WrittenCard {
    pub files: Vec<PathBuf>,
    pub verdict: GateVerdict,
    pub warnings: Vec<Diagnostic>,
}

/// Writes the card of `info` into `req.output`.
pub fn write_card(
    store: &mut Store,
    stamp: &Stamp,
    info: &VersionInfo,
    req: &CardRequest<'_>,
) -> Result<WrittenCard, AppError> {
    std::fs::create_dir_all(req.output.join("data")).map_err(|source| AppError::Write {
        path: req.output.to_path_buf(),
        source,
    })?;
    let data_name = format!("data/{}-v{}.jsonl", info.dataset, info.version);
    let paths = [
        req.output.join("croissant.json"),
        req.output.join("README.md"),
        req.output.join(&data_name),
    ];
    for p in &paths {
        if p.exists() {
            return Err(AppError::Write {
                path: p.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "the card's files already exist: choose a new folder",
                ),
            });
        }
    }
    let readme = &paths[1];
    let (written, staged) = store.atomically(|store| -> Result<_, AppError> {
        let report_req = ReportRequest {
            kind: ReportKind::NutritionLabel,
            policy: req.policy,
            format: ReportFormat::Markdown,
            output: readme,
            date: req.date,
            secret_key: None,
            templates: None,
            budget: None,
            recompute: req.recompute,
        };
        let (run, report) = gate_and_view(store, stamp, info, &report_req)?;
        let label = render(&report, ReportFormat::Markdown, &Templates::Embedded)?;

        // The records, streamed into their staged file and hashed as they go.
        let (data_staged, file) = Staged::stream_new(&paths[2])?;
        let mut out = HashingWriter::new(std::io::BufWriter::new(file));
        let write_error = |source| AppError::Write {
            path: paths[2].clone(),
            source,
        };
        store.for_each_comparison::<AppError>(info, |c| {
            let record = crate::ingest::export::jsonl_record(&info.schema, &c);
            serde_json::to_writer(&mut out, &record)
                .map_err(|e| write_error(std::io::Error::other(e)))?;
            out.write_all(b"\n").map_err(write_error)
        })?;
        let data_sha256 = out.finish().map_err(write_error)?;

        let inputs = CardInputs {
            info,
            analysis: &run.analysis,
            evaluation: &run.evaluation,
            audits: &run.audits,
            data_file: &data_name,
            data_sha256: &data_sha256,
            texts: store.version_shape(info)?.texts,
            license: req.license,
            date: req.date,
        };
        let mut jsonld = serde_json::to_string_pretty(&croissant(&inputs))
            .map_err(|e| AppError::Invalid(e.to_string()))?;
        jsonld.push('\n');
        let card = format!("{}\n{label}", hugging_face_header(&inputs));
        let staged = vec![
            Staged::write(&paths[0], jsonld.as_bytes())?,
            Staged::write(&paths[1], card.as_bytes())?,
            data_staged,
        ];
        Ok((
            WrittenCard {
                files: paths.to_vec(),
                verdict: run.verdict,
                warnings: run.warnings,
            },
            staged,
        ))
    })?;
    staging::commit_all(staged)?;
    Ok(written)
}

/// A writer that hashes what passes through it and syncs the file at the end.
struct HashingWriter {
    inner: std::io::BufWriter<std::fs::File>,
    hasher: sha2::Sha256,
}

impl HashingWriter {
    fn new(inner: std::io::BufWriter<std::fs::File>) -> Self {
        use sha2::Digest as _;
        HashingWriter {
            inner,
            hasher: sha2::Sha256::new(),
        }
    }

    /// Flushes and syncs the file; returns the hex SHA-256 of everything written.
    fn finish(mut self) -> std::io::Result<String> {
        use sha2::Digest as _;
        self.inner.flush()?;
        self.inner.get_ref().sync_all()?;
        Ok(crate::model::digest::hex(&self.hasher.finalize()))
    }
}

impl std::io::Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest as _;
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
