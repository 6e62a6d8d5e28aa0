//! Reports: a serializable view-model, renderers per format, signing and verification.
//!
//! Reports render from a view-model built from analyses and gate evaluations, never from storage
//! types; the bytes are deterministic for the same inputs (dates are inputs). `signing` signs the
//! exact bytes (detached Ed25519 with a signed trusted comment, minisign-style) and attests them
//! (in-toto Statement in a DSSE envelope); `signing::verify` works offline and fails closed.

pub mod charts;
pub mod croissant;
pub mod render;
pub mod signing;
pub mod solver_sections;
pub mod view;
