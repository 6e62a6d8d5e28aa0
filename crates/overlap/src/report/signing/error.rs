//! Error types of report signing: key-file parsing, signing and verification.
//!
//! Messages are lowercase, say which file is at fault and, where there is one, the fix. They never
//! contain secret-key material (not even a base64 character of a secret key file).

use std::fmt;

use thiserror::Error;

/// Which half of a key pair a key file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// The `.pub` file, safe to share.
    Public,
    /// The `.key` file, to keep private.
    Secret,
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Public => "public key",
            Self::Secret => "secret key",
        })
    }
}

/// A key file that is not exactly in the form `overlap key generate` writes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyFormatError {
    /// A secret key was given where a public one was expected, or the reverse.
    #[error("expected a {expected} file but this is a {found} file ({hint})")]
    WrongKind {
        expected: KeyKind,
        found: KeyKind,
        hint: &'static str,
    },
    /// Not two newline-terminated lines.
    #[error(
        "malformed {kind} file: expected exactly two lines, each ending in a newline \
         (an 'untrusted comment: ' line, then one base64 line); CRLF line endings are not accepted"
    )]
    Layout { kind: KeyKind },
    /// The first line is not an `untrusted comment:` line of an overlap key.
    #[error("malformed {kind} file: the first line must read exactly '{expected}'")]
    Comment { kind: KeyKind, expected: String },
    /// The key line is not canonical base64.
    #[error("malformed {kind} file: the key line is not valid base64{detail}")]
    Base64 { kind: KeyKind, detail: String },
    /// The decoded key blob has the wrong size.
    #[error("malformed {kind} file: the key blob is {found} bytes long, expected {expected}")]
    Length {
        kind: KeyKind,
        expected: usize,
        found: usize,
    },
    /// The blob's algorithm tag is not Ed25519.
    #[error("unsupported {kind} file: only Ed25519 keys (algorithm tag 'Ed') are supported")]
    Algorithm { kind: KeyKind },
    /// The stored key id is not the one derived from the key.
    #[error(
        "corrupt {kind} file: its key id does not match its key (the file was edited or damaged)"
    )]
    KeyIdMismatch { kind: KeyKind },
    /// The public key bytes are not a valid Ed25519 point.
    #[error("invalid public key: the key bytes are not a valid Ed25519 point")]
    InvalidPoint,
    /// The public key is a small-order point, for which signatures prove nothing.
    #[error("invalid public key: the key is a weak (small-order) Ed25519 point")]
    WeakKey,
    /// The secret key does not derive the public key stored beside it.
    #[error(
        "corrupt secret key file: the secret key does not match the public key stored with it \
         (the file was edited or damaged)"
    )]
    SecretPublicMismatch,
}

/// Why a key could not be generated or a report could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SigningError {
    /// The operating system's random number generator failed.
    #[error("could not read randomness from the operating system: {0}")]
    Randomness(String),
    /// A caller-supplied value that would be written into a signed artefact is invalid.
    #[error("cannot sign: invalid {field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },
    /// The in-toto statement could not be serialised.
    #[error("cannot sign: could not serialise the in-toto statement: {0}")]
    Serialize(String),
}

/// Why a report did not verify. Every variant means "do not trust this report".
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// Neither a signature nor an attestation was supplied.
    #[error("nothing to verify: pass --signature FILE.sig and/or --attestation FILE.intoto.json")]
    NothingToVerify,
    /// The public key file is malformed.
    #[error("{0}")]
    PublicKey(#[from] KeyFormatError),
    /// The `.sig` file is not in the exact form overlap writes.
    #[error("malformed signature file: {0}")]
    MalformedSignature(String),
    /// The `.sig` file was made with another key.
    #[error(
        "the signature was made with key {found}, but the public key given is {expected}: \
         pass the matching --public-key"
    )]
    SignatureKeyMismatch { expected: String, found: String },
    /// The Ed25519 signature over the report bytes does not verify.
    #[error(
        "signature check failed: the report or its signature was modified, or it was signed with \
         another key"
    )]
    BadSignature,
    /// The global signature over signature ‖ trusted comment does not verify.
    #[error("signature check failed: the trusted comment of the signature file was modified")]
    BadTrustedComment,
    /// The (authenticated) trusted comment does not follow overlap's grammar.
    #[error("malformed trusted comment in the signature file: {0}")]
    MalformedTrustedComment(String),
    /// A registry checkpoint is not in the exact form overlap writes.
    #[error("malformed registry checkpoint: {0}")]
    MalformedCheckpoint(String),
    /// The signature of a registry checkpoint does not verify.
    #[error(
        "checkpoint signature check failed: the checkpoint was modified, or it was signed with another key"
    )]
    BadCheckpointSignature,
    /// The attestation is not a DSSE envelope in the exact form overlap writes.
    #[error("malformed attestation: {0}")]
    MalformedAttestation(String),
    /// The envelope's payload type is not in-toto.
    #[error("unsupported attestation payload type '{0}': expected 'application/vnd.in-toto+json'")]
    UnsupportedPayloadType(String),
    /// The envelope was signed by another key.
    #[error(
        "the attestation was signed by key {found}, but the public key given is {expected}: \
         pass the matching --public-key"
    )]
    AttestationKeyMismatch { expected: String, found: String },
    /// The DSSE signature does not verify.
    #[error(
        "attestation signature check failed: the attestation was modified, or it was signed with \
         another key"
    )]
    BadAttestationSignature,
    /// The (authenticated) payload is not an in-toto Statement v1 in overlap's shape.
    #[error("malformed in-toto statement in the attestation: {0}")]
    MalformedStatement(String),
    /// The statement's predicate type is not one overlap defines.
    #[error(
        "unknown predicate type '{0}': expected 'https://overlap.dev/nutrition-label/v1' or \
         'https://overlap.dev/design-adequacy/v1'"
    )]
    UnknownPredicateType(String),
    /// The report's digest is not a subject of the statement: the attestation is for another file.
    #[error(
        "the report (sha256 {sha256}) is not a subject of the attestation: the attestation \
         belongs to another report, or the report was modified"
    )]
    ReportNotInSubjects { sha256: String },
    /// Signature and attestation name different dataset versions.
    #[error(
        "the signature and the attestation disagree on the dataset digest ({signature} vs \
         {attestation})"
    )]
    DatasetDigestMismatch {
        signature: String,
        attestation: String,
    },
}
