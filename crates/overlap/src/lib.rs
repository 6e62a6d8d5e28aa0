//! `overlap`: governance for preference-learning data.
//!
//! The library behind the `overlap` binary: the use cases (`app`) over the store, the analyses, the
//! policies, the reports and the pure numerics (`numerics`, the `overlap-numerics` crate). It never
//! prints and never exits. See ARCHITECTURE.md for the code map and the invariants each module keeps.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::exit)]

pub mod analysis;
pub mod app;
pub mod audit;
pub mod collection;
pub mod demo;
pub mod design;
pub mod escape;
pub mod ingest;
pub mod model;
pub use overlap_numerics as numerics;
pub mod policy;
pub mod report;
pub mod simulate;
pub mod storage;
pub mod svg;
pub mod textmap;

/// The tool version recorded in results and reports.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
