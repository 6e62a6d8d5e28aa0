//! Lenient imports (`--skip-invalid`): records with problems are left out and listed, one JSON
//! line per rejected record with its line and every problem of it, in a rejects file whose count
//! and SHA-256 the version records. Problems of the file as a whole (its header, the schema, the
//! options) still stop the import.

use std::io::Write;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::model::digest::hex;

/// One problem of a rejected record: the field (when known) and what was wrong.
type FieldProblem = (Option<String>, String);

/// The rejected records of one import, streamed to the caller's writer as they are found.
pub(crate) struct Rejects {
    out: Box<dyn Write + Send>,
    hasher: Sha256,
    count: u64,
    /// The line being collected and its problems (field, message): a record's problems are
    /// reported together, before the next line's.
    current: Option<(u64, Vec<FieldProblem>)>,
    /// The first write error: reported when the import finishes.
    error: Option<std::io::Error>,
}

impl Rejects {
    pub(crate) fn new(out: Box<dyn Write + Send>) -> Rejects {
        Rejects {
            out,
            hasher: Sha256::new(),
            count: 0,
            current: None,
            error: None,
        }
    }

    /// Adds a problem of the record on `line` (ending the previous record's list).
    pub(crate) fn add(&mut self, file: &str, line: u64, field: Option<String>, message: String) {
        match &mut self.current {
            Some((l, problems)) if *l == line => problems.push((field, message)),
            _ => {
                self.flush_record(file);
                self.current = Some((line, vec![(field, message)]));
            }
        }
    }

    /// Whether the record on `line` has a problem (so it is left out).
    pub(crate) fn has(&self, line: u64) -> bool {
        matches!(&self.current, Some((l, _)) if *l == line)
    }

    /// Records rejected so far (the one being collected included).
    pub(crate) fn count(&self) -> u64 {
        self.count + u64::from(self.current.is_some())
    }

    fn flush_record(&mut self, file: &str) {
        let Some((line, problems)) = self.current.take() else {
            return;
        };
        self.count += 1;
        let record = json!({
            "file": file,
            "line": line,
            "problems": problems
                .into_iter()
                .map(|(field, message)| json!({"field": field, "message": message}))
                .collect::<Vec<_>>(),
        });
        let mut bytes = record.to_string().into_bytes();
        bytes.push(b'\n');
        self.hasher.update(&bytes);
        if self.error.is_none() {
            if let Err(e) = self.out.write_all(&bytes) {
                self.error = Some(e);
            }
        }
    }

    /// Writes the last record and flushes: the count and the SHA-256 of the bytes written
    /// (`None` when nothing was rejected).
    pub(crate) fn finish(mut self, file: &str) -> std::io::Result<(u64, Option<String>)> {
        self.flush_record(file);
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()?;
        let digest = (self.count > 0).then(|| hex(&self.hasher.finalize()));
        Ok((self.count, digest))
    }
}
