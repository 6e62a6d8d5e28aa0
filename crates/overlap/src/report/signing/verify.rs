//! `overlap verify`: checks a report against its detached signature and/or attestation.
//!
//! Entry point [`verify`]; it fails closed (any error means "do not trust the report") and returns
//! only values that were authenticated. It must not read files or print: the CLI does both.

use serde_json::Value;

use super::attestation::{PredicateType, VerifiedAttestation, verify_attestation};
use super::detached::{SignedMeta, verify_detached};
use super::error::VerifyError;
use super::keys::parse_public_key;
use super::sha256_hex;

/// What was verified about a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// SHA-256 of the report bytes (64 lowercase hex digits).
    pub report_sha256: String,
    /// Fingerprint of the signing key: SHA-256 of its 32 public-key bytes, lowercase hex.
    pub signer_fingerprint: String,
    /// Key id of the signing key (the fingerprint's first 16 hex digits).
    pub signer_key_id: String,
    /// The dataset version's content digest; when both a signature and an attestation were given,
    /// they agree on it.
    pub dataset_digest: String,
    /// The signature's trusted comment, when a signature was verified.
    pub signature: Option<SignedMeta>,
    /// The statement's claims, when an attestation was verified.
    pub attestation: Option<VerifiedAttestation>,
}

impl Verified {
    /// The policy digest from the signature's trusted comment (`None` without a signature or when
    /// the report was signed without a policy).
    pub fn policy_digest(&self) -> Option<&str> {
        self.signature.as_ref()?.policy_digest.as_deref()
    }

    /// The tool version from the signature's trusted comment.
    pub fn tool_version(&self) -> Option<&str> {
        self.signature
            .as_ref()
            .map(|meta| meta.tool_version.as_str())
    }

    /// The attested predicate type.
    pub fn predicate_type(&self) -> Option<PredicateType> {
        self.attestation
            .as_ref()
            .map(|claims| claims.predicate_type)
    }

    /// The attested predicate (the verdict summary).
    pub fn predicate(&self) -> Option<&Value> {
        self.attestation.as_ref().map(|claims| &claims.predicate)
    }
}

/// Verifies the exact `report_bytes` against `FILE.sig` and/or `FILE.intoto.json` with the public
/// key file's text. At least one of the two must be given; every one given must verify.
pub fn verify(
    report_bytes: &[u8],
    public_key_text: &str,
    signature_text: Option<&str>,
    attestation_text: Option<&str>,
) -> Result<Verified, VerifyError> {
    if signature_text.is_none() && attestation_text.is_none() {
        return Err(VerifyError::NothingToVerify);
    }
    let public = parse_public_key(public_key_text)?;
    let signature = signature_text
        .map(|text| verify_detached(report_bytes, &public, text))
        .transpose()?;
    let attestation = attestation_text
        .map(|text| verify_attestation(report_bytes, &public, text))
        .transpose()?;
    let dataset_digest = match (&signature, &attestation) {
        (Some(meta), Some(claims)) if meta.dataset_digest != claims.dataset_digest => {
            return Err(VerifyError::DatasetDigestMismatch {
                signature: meta.dataset_digest.clone(),
                attestation: claims.dataset_digest.clone(),
            });
        }
        (Some(meta), _) => meta.dataset_digest.clone(),
        (None, Some(claims)) => claims.dataset_digest.clone(),
        (None, None) => return Err(VerifyError::NothingToVerify),
    };
    Ok(Verified {
        report_sha256: sha256_hex(report_bytes),
        signer_fingerprint: public.fingerprint(),
        signer_key_id: public.key_id(),
        dataset_digest,
        signature,
        attestation,
    })
}
