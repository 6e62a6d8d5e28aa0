//! The detached signature file (`FILE.sig`): minisign's legacy layout over the exact report bytes.
//!
//! Four `\n`-terminated lines:
//!
//! ```text
//! untrusted comment: signature from overlap secret key KEYID
//! base64("Ed" ‖ key id (8) ‖ Ed25519(report bytes) (64))
//! trusted comment: overlap-report/v1 dataset_sha256=HEX policy_sha256=HEX|none tool_version=V
//! base64(Ed25519(signature ‖ trusted comment bytes))
//! ```
//!
//! The trusted comment is authenticated by the second (global) signature, as in minisign; the
//! untrusted comment is not signed, so the parser requires it to be exactly the line derived from
//! the key id (overlap never lets an unauthenticated byte vary). `minisign -V` verifies these files.
//! This module signs and checks; it does not read files or decide what a failed check means.

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _};

use super::error::{SigningError, VerifyError};
use super::keys::{PublicKey, SecretKey, take};
use super::{ALGORITHM_ED25519, ALGORITHM_ED25519_PREHASHED, BASE64, hex_lower, is_sha256_hex};

const SIGNATURE_LEN: usize = 64;
const KEY_ID_LEN: usize = 8;
const SIGNATURE_BLOB_LEN: usize = ALGORITHM_ED25519.len() + KEY_ID_LEN + SIGNATURE_LEN;

const UNTRUSTED_COMMENT: &str = "untrusted comment: ";
const SIGNATURE_COMMENT: &str = "untrusted comment: signature from overlap secret key ";
const TRUSTED_COMMENT: &str = "trusted comment: ";
const TRUSTED_COMMENT_TAG: &str = "overlap-report/v1";
const NO_POLICY: &str = "none";
const MAX_TOOL_VERSION_LEN: usize = 64;

/// What the trusted comment of a signature carries: provenance the signer vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedMeta {
    /// Content digest of the dataset version the report describes (64 lowercase hex digits).
    pub dataset_digest: String,
    /// SHA-256 of the policy file evaluated, if any (64 lowercase hex digits).
    pub policy_digest: Option<String>,
    /// Version of the tool that rendered the report, e.g. `0.1.0` (letters, digits, `.+_-`).
    pub tool_version: String,
}

/// Signs the exact `report_bytes` and returns the text of `FILE.sig`.
pub fn sign_report(
    report_bytes: &[u8],
    key: &SecretKey,
    meta: &SignedMeta,
) -> Result<String, SigningError> {
    let trusted_comment = meta.to_trusted_comment()?;
    let signing_key = key.signing_key();
    let signature = signing_key.sign(report_bytes).to_bytes();
    let global = signing_key
        .sign(&global_message(&signature, &trusted_comment))
        .to_bytes();

    let public = key.public_key();
    let mut blob = Vec::with_capacity(SIGNATURE_BLOB_LEN);
    blob.extend_from_slice(&ALGORITHM_ED25519);
    blob.extend_from_slice(&public.key_id_bytes());
    blob.extend_from_slice(&signature);
    Ok(format!(
        "{SIGNATURE_COMMENT}{}\n{}\n{TRUSTED_COMMENT}{trusted_comment}\n{}\n",
        public.key_id(),
        BASE64.encode(&blob),
        BASE64.encode(global),
    ))
}

/// Checks `signature_text` against the exact `report_bytes` and `public`; returns the
/// authenticated trusted comment.
pub(super) fn verify_detached(
    report_bytes: &[u8],
    public: &PublicKey,
    signature_text: &str,
) -> Result<SignedMeta, VerifyError> {
    let parsed = parse_signature_file(signature_text)?;
    if parsed.key_id != public.key_id_bytes() {
        return Err(VerifyError::SignatureKeyMismatch {
            expected: public.key_id(),
            found: hex_lower(&parsed.key_id),
        });
    }
    let key = public.verifying_key();
    key.verify_strict(report_bytes, &Signature::from_bytes(&parsed.signature))
        .map_err(|_| VerifyError::BadSignature)?;
    key.verify_strict(
        &global_message(&parsed.signature, parsed.trusted_comment),
        &Signature::from_bytes(&parsed.global),
    )
    .map_err(|_| VerifyError::BadTrustedComment)?;
    // Interpreted only now that it is authenticated.
    SignedMeta::from_trusted_comment(parsed.trusted_comment)
}

/// The message of the global signature: the report signature followed by the trusted comment.
fn global_message(signature: &[u8; SIGNATURE_LEN], trusted_comment: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNATURE_LEN + trusted_comment.len());
    message.extend_from_slice(signature);
    message.extend_from_slice(trusted_comment.as_bytes());
    message
}

struct ParsedSignature<'a> {
    key_id: [u8; KEY_ID_LEN],
    signature: [u8; SIGNATURE_LEN],
    trusted_comment: &'a str,
    global: [u8; SIGNATURE_LEN],
}

fn malformed(reason: impl Into<String>) -> VerifyError {
    VerifyError::MalformedSignature(reason.into())
}

fn parse_signature_file(text: &str) -> Result<ParsedSignature<'_>, VerifyError> {
    let layout = || {
        malformed(
            "expected exactly four lines, each ending in a newline (CRLF line endings are not \
             accepted)",
        )
    };
    if text.contains('\r') {
        return Err(layout());
    }
    let body = text.strip_suffix('\n').ok_or_else(layout)?;
    let mut lines = body.split('\n');
    let (Some(comment), Some(encoded), Some(trusted), Some(encoded_global), None) = (
        lines.next(),
        lines.next(),
        lines.next(),
        lines.next(),
        lines.next(),
    ) else {
        return Err(layout());
    };
    if !comment.starts_with(UNTRUSTED_COMMENT) {
        return Err(malformed("line 1 must start with 'untrusted comment: '"));
    }
    let blob = BASE64
        .decode(encoded)
        .map_err(|err| malformed(format!("line 2 is not valid base64 ({err})")))?;
    if blob.len() != SIGNATURE_BLOB_LEN {
        return Err(malformed(format!(
            "line 2 holds {} bytes, expected {SIGNATURE_BLOB_LEN}",
            blob.len()
        )));
    }
    let mut rest = blob.as_slice();
    let blob_error = || malformed("line 2 is truncated");
    match take::<2>(&mut rest).ok_or_else(blob_error)? {
        ALGORITHM_ED25519 => {}
        ALGORITHM_ED25519_PREHASHED => {
            return Err(malformed(
                "prehashed minisign signatures (algorithm 'ED') are not accepted: overlap signs \
                 the exact report bytes; sign with `overlap report --sign`",
            ));
        }
        _ => {
            return Err(malformed(
                "unsupported signature algorithm, expected Ed25519 ('Ed')",
            ));
        }
    }
    let key_id = take::<KEY_ID_LEN>(&mut rest).ok_or_else(blob_error)?;
    let signature = take::<SIGNATURE_LEN>(&mut rest).ok_or_else(blob_error)?;

    let expected_comment = format!("{SIGNATURE_COMMENT}{}", hex_lower(&key_id));
    if comment != expected_comment {
        return Err(malformed(format!(
            "line 1 must read exactly '{expected_comment}'"
        )));
    }
    let trusted_comment = trusted
        .strip_prefix(TRUSTED_COMMENT)
        .ok_or_else(|| malformed("line 3 must start with 'trusted comment: '"))?;
    let global_bytes = BASE64
        .decode(encoded_global)
        .map_err(|err| malformed(format!("line 4 is not valid base64 ({err})")))?;
    let global = <[u8; SIGNATURE_LEN]>::try_from(global_bytes.as_slice()).map_err(|_| {
        malformed(format!(
            "line 4 holds {} bytes, expected {SIGNATURE_LEN}",
            global_bytes.len()
        ))
    })?;
    Ok(ParsedSignature {
        key_id,
        signature,
        trusted_comment,
        global,
    })
}

impl SignedMeta {
    fn validate(&self) -> Result<(), (&'static str, String)> {
        if !is_sha256_hex(&self.dataset_digest) {
            return Err((
                "dataset digest",
                format!("'{}' is not 64 lowercase hex digits", self.dataset_digest),
            ));
        }
        if let Some(policy) = &self.policy_digest
            && !is_sha256_hex(policy)
        {
            return Err((
                "policy digest",
                format!("'{policy}' is not 64 lowercase hex digits"),
            ));
        }
        let version = &self.tool_version;
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'_' | b'-');
        if version.is_empty()
            || version.len() > MAX_TOOL_VERSION_LEN
            || !version.bytes().all(allowed)
        {
            return Err((
                "tool version",
                format!(
                    "'{version}' must be 1 to {MAX_TOOL_VERSION_LEN} letters, digits or '.+_-'"
                ),
            ));
        }
        Ok(())
    }

    fn to_trusted_comment(&self) -> Result<String, SigningError> {
        self.validate()
            .map_err(|(field, reason)| SigningError::InvalidInput { field, reason })?;
        Ok(self.render())
    }

    fn render(&self) -> String {
        format!(
            "{TRUSTED_COMMENT_TAG} dataset_sha256={} policy_sha256={} tool_version={}",
            self.dataset_digest,
            self.policy_digest.as_deref().unwrap_or(NO_POLICY),
            self.tool_version,
        )
    }

    fn from_trusted_comment(comment: &str) -> Result<Self, VerifyError> {
        let bad = |reason: String| VerifyError::MalformedTrustedComment(reason);
        let mut fields = comment.split(' ');
        let (Some(tag), Some(dataset), Some(policy), Some(tool), None) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(bad(format!(
                "expected '{TRUSTED_COMMENT_TAG} dataset_sha256=… policy_sha256=… tool_version=…'"
            )));
        };
        if tag != TRUSTED_COMMENT_TAG {
            return Err(bad(format!(
                "it starts with '{tag}', expected '{TRUSTED_COMMENT_TAG}' (signed by a newer or \
                 foreign tool?)"
            )));
        }
        let value = |field: &str, name: &str| {
            field
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::to_owned)
                .ok_or_else(|| bad(format!("expected field '{name}=' but found '{field}'")))
        };
        let policy = value(policy, "policy_sha256")?;
        let meta = Self {
            dataset_digest: value(dataset, "dataset_sha256")?,
            policy_digest: (policy != NO_POLICY).then_some(policy),
            tool_version: value(tool, "tool_version")?,
        };
        meta.validate()
            .map_err(|(field, reason)| bad(format!("invalid {field}: {reason}")))?;
        // One spelling only: anything that does not re-render identically is rejected.
        if meta.render() != comment {
            return Err(bad("not in canonical form".to_owned()));
        }
        Ok(meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> SignedMeta {
        SignedMeta {
            dataset_digest: "a".repeat(64),
            policy_digest: None,
            tool_version: "0.1.0".to_owned(),
        }
    }

    #[test]
    fn trusted_comment_round_trips_with_and_without_policy() {
        let without = meta();
        assert_eq!(
            SignedMeta::from_trusted_comment(&without.render()),
            Ok(without.clone())
        );
        let with = SignedMeta {
            policy_digest: Some("b".repeat(64)),
            ..without
        };
        assert_eq!(SignedMeta::from_trusted_comment(&with.render()), Ok(with));
    }

    #[test]
    fn trusted_comment_grammar_is_strict() {
        let good = meta().render();
        for bad in [
            String::new(),
            format!("{good} "),
            good.replace(' ', "  "),
            good.replace("overlap-report/v1", "overlap-report/v2"),
            good.replace("dataset_sha256", "dataset"),
            good.replace("tool_version=0.1.0", "tool_version="),
            good.replace("policy_sha256=none", "policy_sha256=NONE"),
        ] {
            assert!(
                SignedMeta::from_trusted_comment(&bad).is_err(),
                "accepted {bad:?}"
            );
        }
    }

    #[test]
    fn invalid_meta_is_refused_at_signing() {
        let key = SecretKey::from_seed(&[1u8; 32]);
        let mut bad = meta();
        bad.tool_version = "0.1 beta".to_owned();
        assert!(matches!(
            sign_report(b"x", &key, &bad),
            Err(SigningError::InvalidInput {
                field: "tool version",
                ..
            })
        ));
        let mut bad = meta();
        bad.dataset_digest = "A".repeat(64);
        assert!(sign_report(b"x", &key, &bad).is_err());
    }
}
