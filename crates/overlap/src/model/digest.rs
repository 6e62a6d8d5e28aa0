//! The content digest of a dataset version (DESIGN §4).
//!
//! SHA-256 over a canonical byte serialization: every row in import order, then the feature schema.
//! Each row is a fixed sequence of fields; strings and optional strings are length-prefixed (so no
//! separator can be forged), numbers are the IEEE-754 bits in little-endian order. The schema comes
//! last so the digest can be computed while streaming, before the RMS scales are known. The same
//! content read from JSONL or CSV therefore has the same digest, and any change to any field of any
//! row, to the row order, or to the schema changes it. Changing this encoding changes every digest:
//! treat it as frozen (a new encoding would need a new tag).

use sha2::{Digest, Sha256};

use crate::model::dataset::{Comparison, FeatureSchema, FeatureValues};

const ROW_TAG: &[u8] = b"overlap/row/v1\0";
const SCHEMA_TAG: &[u8] = b"overlap/schema/v1\0";

/// Streaming digest of a dataset version's content.
#[derive(Clone, Default)]
pub struct ContentHasher {
    hasher: Sha256,
    rows: u64,
}

fn put_str(h: &mut Sha256, s: &str) {
    h.update((s.len() as u64).to_le_bytes());
    h.update(s.as_bytes());
}

fn put_opt(h: &mut Sha256, s: Option<&str>) {
    match s {
        None => h.update([0u8]),
        Some(s) => {
            h.update([1u8]);
            put_str(h, s);
        }
    }
}

fn put_f64s(h: &mut Sha256, values: &[f64]) {
    h.update((values.len() as u64).to_le_bytes());
    for v in values {
        h.update(v.to_le_bytes());
    }
}

impl ContentHasher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_row(&mut self, c: &Comparison) {
        let h = &mut self.hasher;
        h.update(ROW_TAG);
        put_str(h, &c.id);
        put_str(h, &c.bucket);
        put_opt(h, c.group.as_deref());
        put_opt(h, c.prompt_id.as_deref());
        h.update([c.label]);
        put_opt(h, c.labeler.as_deref());
        put_opt(h, c.a_intervention.as_deref());
        put_opt(h, c.b_intervention.as_deref());
        match &c.values {
            FeatureValues::Sides { a, b } => {
                h.update(b"S");
                put_f64s(h, a);
                put_f64s(h, b);
            }
            FeatureValues::Delta(d) => {
                h.update(b"D");
                put_f64s(h, d);
            }
        }
        put_opt(h, c.prompt.as_deref());
        put_opt(h, c.a_text.as_deref());
        put_opt(h, c.b_text.as_deref());
        self.rows += 1;
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Finishes with the schema and returns the lowercase hex digest.
    pub fn finish(mut self, schema: &FeatureSchema) -> String {
        let h = &mut self.hasher;
        h.update(SCHEMA_TAG);
        h.update(self.rows.to_le_bytes());
        h.update((schema.features.len() as u64).to_le_bytes());
        for f in &schema.features {
            put_str(h, f);
        }
        // The scales' values are content; where they came from (RMS, unit, a file) is provenance
        // and deliberately not hashed, so an export re-imported with `--scales FILE` keeps its digest.
        put_f64s(h, &schema.scales);
        put_opt(h, schema.feature_map.as_deref());
        hex(&self.hasher.finalize())
    }
}

/// A fingerprint of one row's content (for diffs between versions).
pub fn row_fingerprint(c: &Comparison) -> [u8; 32] {
    let mut h = ContentHasher::new();
    h.add_row(c);
    h.hasher.finalize().into()
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

/// SHA-256 of bytes as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}
