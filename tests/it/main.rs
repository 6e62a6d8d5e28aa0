//! The integration tests: one binary (one link instead of one per file), a module per area.
//!
//! Shared helpers live in `common` (a store on disk and the CLI), `policy_support` (policy
//! evaluation inputs) and `support` (the conformance file readers, also used by the benchmarks).

mod common;
mod policy_support;
mod support {
    pub(crate) mod btl_cases;
    pub(crate) mod design_files;
}

mod attestation;
mod audit;
mod bad_input;
mod browser;
mod card;
mod cli_conventions;
mod cli_help;
mod compare;
mod concurrency;
mod conformance_btl;
mod conformance_btl_cli;
mod conformance_design;
mod conformance_design_cli;
mod crash;
mod csv_lines;
mod data_copies;
mod design_cli;
mod design_next;
mod files;
mod gate_cli;
mod human_output;
mod import;
mod layouts;
#[cfg(feature = "parquet")]
mod parquet;
mod plan;
mod policy_diagnostics;
mod policy_fuzz;
mod policy_gate;
mod policy_render;
mod reader_fuzz;
mod real_data;
mod registry;
mod report;
mod schema;
mod signing;
mod simulate;
mod tamper;
mod text_pairs_cli;
mod textmap;
