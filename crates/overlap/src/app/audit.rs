//! The audit use cases: draw a review sample (recorded together with its sheet, or neither),
//! record a filled sheet's verdicts, and show a version's audit evidence.

use std::io::Write;
use std::path::Path;

use super::{AppError, Session};
use crate::audit::{self, AuditStatus, RecordReport, RecordedSample, SampleRequest, SheetFormat};
use crate::model::DatasetRef;

/// Where a drawn sample's review sheet goes.
pub enum SheetTarget<'a> {
    /// A stream the caller owns (standard output).
    Writer(&'a mut dyn Write),
    /// A new file: never an existing one, which may be a sheet a reviewer already filled in.
    NewFile(&'a Path),
}

/// Draws `request` from `dataset` and records the sample with its sheet written to `target` in
/// `format`, in one transaction: if the sheet cannot be written the sample is not recorded, and if
/// the sample cannot be recorded a new sheet file is removed again (it would name an audit id that
/// does not exist).
pub fn sample(
    session: &mut Session,
    dataset: &DatasetRef,
    request: &SampleRequest,
    target: SheetTarget<'_>,
    format: SheetFormat,
) -> Result<RecordedSample, AppError> {
    let (store, stamp) = session.parts();
    let info = store.resolve(dataset)?;
    let prepared = audit::prepare_sample(store, &info, request)?;
    let features = prepared.features.clone();
    let mut created: Option<&Path> = None;
    let result =
        audit::record_sample(
            store,
            prepared,
            &stamp.now(),
            stamp.actor(),
            |rows| match target {
                SheetTarget::Writer(w) => audit::write_sheet(rows, &features, format, w),
                SheetTarget::NewFile(path) => {
                    let file = std::fs::File::create_new(path).map_err(|e| {
                    let shown = path.display();
                    let message = if e.kind() == std::io::ErrorKind::AlreadyExists {
                        format!(
                            "{shown} already exists (it may hold verdicts): choose another --output"
                        )
                    } else {
                        format!("cannot create {shown}: {e}")
                    };
                    std::io::Error::new(e.kind(), message)
                })?;
                    created = Some(path);
                    audit::write_sheet(rows, &features, format, file)
                }
            },
        );
    result.map_err(|e| {
        if let Some(path) = created {
            // Best effort: the sample was not recorded and the error is what the user sees.
            let _ = std::fs::remove_file(path);
        }
        e.into()
    })
}

/// Records the verdicts of the filled review sheet at `file` (`.jsonl` or `.csv`); rows without a
/// reviewer get `default_reviewer`. Every row is checked before anything is written.
pub fn record(
    session: &mut Session,
    file: &str,
    default_reviewer: Option<&str>,
) -> Result<RecordReport, AppError> {
    let (store, stamp) = session.parts();
    Ok(audit::record_sheet(
        store,
        file,
        default_reviewer,
        &stamp.now(),
        stamp.actor(),
    )?)
}

/// The audit evidence of `dataset`: its samples and the per-bucket figures, with the
/// illusory-overlap flag set below `min_pass_rate`.
pub fn status(
    session: &Session,
    dataset: &DatasetRef,
    min_pass_rate: f64,
) -> Result<AuditStatus, AppError> {
    let store = session.store();
    let info = store.resolve(dataset)?;
    Ok(audit::status(store, &info, min_pass_rate)?)
}
