//! Pure numerical code: BTL fit, second moments and Fisher information, eigen-decomposition, statistics, optimal
//! designs and budget planning. No I/O, no knowledge of datasets or registries; deterministic for
//! given inputs (and seed). Errors are typed per submodule and carry the offending input.

pub mod btl;
pub mod budget;
pub mod eigen;
pub mod moment;
pub mod optimal_design;
pub mod scope;
pub mod stats;
