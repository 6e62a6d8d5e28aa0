//! Audits: expert review exactly where measured overlap may be illusory — along a bucket's weakest
//! direction, and in the quadrants of a feature pair the data may barely cover.
//!
//! Entry points: [`prepare_sample`] (analysis of the version, then a pure [`sampling::plan`]) and
//! [`record_sample`] (the sample and its review sheet, together or not at all); [`record_verdicts`]
//! (a filled sheet, validated completely, then written in one transaction); [`status()`] and
//! [`audit_summaries`] (per-bucket evidence, under the counting rule [`status::PASS_RULE`]);
//! [`simulate_verdicts`] (a deterministic review panel for the demo). Sampling and the figures are
//! pure; this module reads and writes through `storage` only and never prints or exits.

pub mod draw;
pub mod evidence;
pub mod sampling;
pub mod sheet;
pub mod simulate;
pub mod status;
pub mod verdicts;

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

pub use draw::{
    PreparedSample, ProbeSummary, RecordedSample, SampleRequest, SampleSummary, prepare_sample,
    record_sample,
};
pub use evidence::{AuditStatus, SampleListing, audit_summaries, status};
pub use sampling::{
    Coverage, DEFAULT_SEED, KindCoverage, Plan, PlanOptions, RARE_SHARE, SamplingError, Selection,
    Strategy,
};
pub use sheet::{FilledRow, SheetFormat, SheetRow, SheetSide, read_sheet, write_sheet};
pub use simulate::{SimulatedReview, simulate_verdicts};
pub use status::{
    BucketAuditStatus, DEFAULT_MIN_PASS_RATE, PASS_RULE, PassRate, ReviewerAgreement,
};
pub use verdicts::{AuditCount, RecordReport, record_sheet, record_verdicts};

use crate::analysis::AnalysisError;
use crate::ingest::Problems;
use crate::model::analysis::NoSuchBucket;
use crate::storage::StorageError;

#[derive(Debug, Error)]
pub enum AuditError {
    /// Problems in a filled review sheet, each with file, line and field.
    #[error("{0}")]
    Invalid(Problems),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(transparent)]
    Sampling(#[from] SamplingError),
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    NoSuchBucket(#[from] NoSuchBucket),
    #[error("cannot write the review sheet: {0}")]
    Output(#[source] std::io::Error),
}

/// The identifier of a recorded sample, shown and typed as `audit-N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuditId(pub i64);

impl fmt::Display for AuditId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "audit-{}", self.0)
    }
}

impl FromStr for AuditId {
    type Err = String;

    /// `audit-N` as written, or a bare `N` (a spreadsheet may keep only the number).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let digits = t.strip_prefix("audit-").unwrap_or(t);
        digits
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .map(AuditId)
            .ok_or_else(|| {
                format!("'{t}' is not an audit id: expected audit-N as the sampler wrote it")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_ids_round_trip() {
        assert_eq!("audit-7".parse::<AuditId>(), Ok(AuditId(7)));
        assert_eq!(" 7 ".parse::<AuditId>(), Ok(AuditId(7)));
        assert_eq!(AuditId(7).to_string(), "audit-7");
        assert!("audit-0".parse::<AuditId>().is_err());
        assert!("audit-x".parse::<AuditId>().is_err());
        assert!("a-7".parse::<AuditId>().is_err());
    }
}
