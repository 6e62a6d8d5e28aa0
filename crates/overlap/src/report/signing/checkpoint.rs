//! Signed checkpoints of the registry's chain head: an unkeyed hash chain can be rewritten whole
//! by anyone with write access, so the head is also kept outside the database, signed with the
//! project key. A checkpoint is five `\n`-terminated lines:
//!
//! ```text
//! overlap-registry-checkpoint/v1
//! events: N
//! head: HEX (the hash of event N)
//! key: KEYID
//! signature: base64(Ed25519(the first four lines' bytes))
//! ```
//!
//! Verification is fail-closed like the report signatures: the text must be exactly in this form
//! and the signature must verify before any field is interpreted. Whether the store still holds
//! event N with that hash is the caller's check (this module does no I/O).

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _};

use super::error::VerifyError;
use super::keys::{PublicKey, SecretKey};
use super::{BASE64, is_sha256_hex};

const TAG: &str = "overlap-registry-checkpoint/v1";

/// What a verified checkpoint vouches for: the chain had `events` events ending at `head`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub events: u64,
    pub head: String,
}

fn signed_part(events: u64, head: &str, key_id: &str) -> String {
    format!("{TAG}\nevents: {events}\nhead: {head}\nkey: {key_id}\n")
}

/// The text of a checkpoint of a chain of `events` events ending at `head`, signed with `key`.
pub fn sign_checkpoint(events: u64, head: &str, key: &SecretKey) -> String {
    let part = signed_part(events, head, &key.public_key().key_id());
    let signature = key.signing_key().sign(part.as_bytes()).to_bytes();
    format!("{part}signature: {}\n", BASE64.encode(signature))
}

/// Whether `text` reads as a registry checkpoint (by its first line), for `overlap verify` to
/// tell what it was given.
pub fn is_checkpoint(text: &str) -> bool {
    text.split('\n').next() == Some(TAG)
}

fn malformed(reason: &str) -> VerifyError {
    VerifyError::MalformedCheckpoint(reason.to_owned())
}

/// Checks a checkpoint's form and signature with `public`; returns what it vouches for.
pub fn verify_checkpoint(text: &str, public: &PublicKey) -> Result<Checkpoint, VerifyError> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    if lines.len() != 5
        || !lines
            .iter()
            .all(|l| l.ends_with('\n') && !l.ends_with("\r\n"))
    {
        return Err(malformed(
            "expected exactly five lines, each ending in a newline",
        ));
    }
    let field = |line: &str, name: &str| -> Result<String, VerifyError> {
        line.strip_suffix('\n')
            .and_then(|l| l.strip_prefix(name))
            .map(str::to_owned)
            .ok_or_else(|| malformed(&format!("expected a line starting with '{name}'")))
    };
    if lines[0] != format!("{TAG}\n") {
        return Err(malformed(&format!("the first line must be '{TAG}'")));
    }
    let events_text = field(lines[1], "events: ")?;
    let head = field(lines[2], "head: ")?;
    let key_id = field(lines[3], "key: ")?;
    let signature_text = field(lines[4], "signature: ")?;
    if key_id != public.key_id() {
        return Err(VerifyError::SignatureKeyMismatch {
            expected: public.key_id(),
            found: key_id,
        });
    }
    let signature: [u8; 64] = BASE64
        .decode(signature_text.as_bytes())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| malformed("the signature is not 64 bytes of canonical base64"))?;
    let signed: String = lines[..4].concat();
    public
        .verifying_key()
        .verify_strict(signed.as_bytes(), &Signature::from_bytes(&signature))
        .map_err(|_| VerifyError::BadCheckpointSignature)?;
    // Interpreted only now that it is authenticated.
    let events = events_text
        .parse::<u64>()
        .ok()
        .filter(|n| n.to_string() == events_text)
        .ok_or_else(|| malformed("events must be a decimal count"))?;
    if !is_sha256_hex(&head) {
        return Err(malformed("head must be 64 lowercase hex digits"));
    }
    Ok(Checkpoint { events, head })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::signing::generate_key_pair;

    #[test]
    fn round_trips_and_every_changed_byte_fails() {
        let pair = generate_key_pair().expect("key");
        let head = "ab".repeat(32);
        let text = sign_checkpoint(20, &head, &pair.secret);
        let ok = verify_checkpoint(&text, &pair.public).expect("verifies");
        assert_eq!(ok, Checkpoint { events: 20, head });
        let bytes = text.as_bytes();
        for i in 0..bytes.len() {
            let mut changed = bytes.to_vec();
            changed[i] ^= 0x01;
            if let Ok(t) = std::str::from_utf8(&changed) {
                assert!(verify_checkpoint(t, &pair.public).is_err(), "byte {i}");
            }
        }
        let other = generate_key_pair().expect("key");
        assert!(verify_checkpoint(&text, &other.public).is_err());
    }
}
