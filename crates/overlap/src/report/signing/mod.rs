//! Signing and offline verification of rendered reports (DESIGN.md §6).
//!
//! This module owns three text formats and the checks over them, all pure functions over bytes
//! (callers read and write the files, set `0600` on the secret key, and never print it):
//!
//! - **key files** ([`generate_key_pair`], [`parse_public_key`], [`parse_secret_key`]): modelled on
//!   minisign, an `untrusted comment:` line and one base64 line holding `"Ed"` ‖ 8-byte key id ‖ key
//!   bytes. The key id is the first 8 bytes of SHA-256(public key) and the *fingerprint* is the whole
//!   SHA-256 of the 32 public-key bytes in lowercase hex, so the id is the fingerprint's first 16 hex
//!   digits and a key file whose id does not match its key is rejected as corrupt;
//! - **detached signatures** ([`sign_report`]): minisign's legacy (`Ed`, not prehashed) layout, an
//!   Ed25519 signature over the exact report bytes plus a *trusted comment* carrying the dataset
//!   digest, policy digest and tool version, bound by a global signature over signature ‖ comment;
//!   `minisign -V` accepts these files with an overlap public key;
//! - **attestations** ([`attest`]): a DSSE envelope over an in-toto Statement v1 whose subjects are the
//!   report file and the dataset version, with an overlap predicate type.
//!
//! [`verify`] fails closed: every text it reads must be exactly in the form this module writes (no
//! re-serialisation, no lenient parsing), signatures are checked with `verify_strict`, and only
//! authenticated bytes are interpreted. Signing is deterministic: the same inputs and key give the
//! same bytes (Ed25519 is deterministic and nothing reads a clock).
//!
//! This module must not do file I/O, print, or read the clock, and never puts secret bytes into an
//! error message or a `Debug` output.

mod attestation;
mod checkpoint;
mod detached;
mod error;
mod keys;
mod verify;

pub use attestation::{
    DESIGN_ADEQUACY_PREDICATE, DSSE_PAYLOAD_TYPE, IN_TOTO_STATEMENT_TYPE,
    NUTRITION_LABEL_PREDICATE, PredicateType, VerifiedAttestation, VerifiedStatement, attest,
    attest_dataset, dataset_subject_name, is_envelope, verify_dataset_statement,
};
pub use checkpoint::{Checkpoint, is_checkpoint, sign_checkpoint, verify_checkpoint};
pub use detached::{SignedMeta, sign_report};
pub use error::{KeyFormatError, KeyKind, SigningError, VerifyError};
pub use keys::{
    KeyPair, PublicKey, SecretKey, generate_key_pair, parse_public_key, parse_secret_key,
};
pub use verify::{Verified, verify};

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Lowercase hex SHA-256 of `bytes`: the digest format used for reports, datasets and policies
/// (one definition, in `model::digest`).
pub use crate::model::digest::sha256_hex;

/// Standard-alphabet base64 that accepts exactly one spelling per byte string (padding required,
/// unused trailing bits zero), so that changing any character of an encoded field either fails to
/// decode or changes the decoded bytes. Spelled out rather than relying on `STANDARD`'s defaults.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_allow_trailing_bits(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Ed25519 algorithm tag of minisign key and signature blobs (the legacy, not-prehashed mode).
const ALGORITHM_ED25519: [u8; 2] = *b"Ed";

/// minisign's tag for prehashed (BLAKE2b) signatures, recognised only to reject it clearly.
const ALGORITHM_ED25519_PREHASHED: [u8; 2] = *b"ED";

fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// True for exactly 64 lowercase hex digits: the only spelling of a SHA-256 digest accepted, so a
/// digest has one textual form everywhere it is signed or compared.
fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_empty_input_matches_the_standard_vector() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn digest_spelling_is_strict() {
        assert!(is_sha256_hex(&sha256_hex(b"x")));
        assert!(!is_sha256_hex(&sha256_hex(b"x").to_uppercase()));
        assert!(!is_sha256_hex("abc"));
    }
}
