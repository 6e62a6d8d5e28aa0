//! The attestation file (`FILE.intoto.json`): a DSSE envelope holding an in-toto Statement v1.
//!
//! The statement's subjects are the report file (its name and SHA-256) and the dataset version
//! (`dataset:NAME@VERSION` and its content digest); its predicate type is one of overlap's two URIs
//! and its predicate is the caller's JSON verdict summary. The envelope signs DSSE's
//! `PAE(payloadType, payload)` over the statement bytes exactly as stored (base64 in `payload`), so
//! verification never re-serialises anything it checks. The envelope is written as compact JSON
//! with fields in a fixed order and one final newline, and verification accepts only that exact
//! text. This module signs and checks; it does not read files or render predicates.

use std::fmt;

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{SigningError, VerifyError};
use super::keys::{PublicKey, SecretKey};
use super::{BASE64, is_sha256_hex, sha256_hex};

/// DSSE payload type of in-toto statements.
pub const DSSE_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// `_type` of an in-toto Statement v1.
pub const IN_TOTO_STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// Predicate type of a dataset nutrition label attestation.
pub const NUTRITION_LABEL_PREDICATE: &str = "https://overlap.dev/nutrition-label/v1";
/// Predicate type of a design-adequacy report attestation.
pub const DESIGN_ADEQUACY_PREDICATE: &str = "https://overlap.dev/design-adequacy/v1";

const DATASET_SUBJECT_PREFIX: &str = "dataset:";
const SIGNATURE_LEN: usize = 64;

/// The kinds of report overlap attests; each has a versioned predicate type URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PredicateType {
    /// [`NUTRITION_LABEL_PREDICATE`].
    NutritionLabel,
    /// [`DESIGN_ADEQUACY_PREDICATE`].
    DesignAdequacy,
}

impl PredicateType {
    /// Every predicate type, in a fixed order.
    pub const ALL: [Self; 2] = [Self::NutritionLabel, Self::DesignAdequacy];

    /// The predicate type URI written into statements.
    pub fn uri(self) -> &'static str {
        match self {
            Self::NutritionLabel => NUTRITION_LABEL_PREDICATE,
            Self::DesignAdequacy => DESIGN_ADEQUACY_PREDICATE,
        }
    }

    /// The predicate type with this exact URI, if overlap defines one.
    pub fn from_uri(uri: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.uri() == uri)
    }
}

impl fmt::Display for PredicateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.uri())
    }
}

/// What a verified attestation states.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedAttestation {
    /// Name of the subject whose digest is the report's.
    pub report_subject: String,
    /// Name of the dataset subject, `dataset:NAME@VERSION`.
    pub dataset_subject: String,
    /// The dataset version's content digest (64 lowercase hex digits).
    pub dataset_digest: String,
    /// The predicate type.
    pub predicate_type: PredicateType,
    /// The predicate (the verdict summary), as signed.
    pub predicate: Value,
}

/// The subject name of a dataset version: `dataset:NAME@VERSION`.
pub fn dataset_subject_name(name: &str, version: impl fmt::Display) -> String {
    format!("{DATASET_SUBJECT_PREFIX}{name}@{version}")
}

/// Builds, signs and returns the text of `FILE.intoto.json` for a report.
///
/// `dataset_subject` is (`dataset:NAME@VERSION`, see [`dataset_subject_name`]; its content digest
/// as 64 lowercase hex digits). `predicate` must be a JSON object; its key order is kept as given.
pub fn attest(
    report_name: &str,
    report_bytes: &[u8],
    dataset_subject: (&str, &str),
    predicate_type: PredicateType,
    predicate: Value,
    key: &SecretKey,
) -> Result<String, SigningError> {
    let (dataset_name, dataset_digest) = dataset_subject;
    check_subject_name(report_name).map_err(|reason| invalid("report name", reason))?;
    if report_name.starts_with(DATASET_SUBJECT_PREFIX) {
        return Err(invalid(
            "report name",
            format!("'{report_name}' must not start with '{DATASET_SUBJECT_PREFIX}'"),
        ));
    }
    check_dataset_subject_name(dataset_name)
        .map_err(|reason| invalid("dataset subject name", reason))?;
    if !is_sha256_hex(dataset_digest) {
        return Err(invalid(
            "dataset digest",
            format!("'{dataset_digest}' is not 64 lowercase hex digits"),
        ));
    }
    if !predicate.is_object() {
        return Err(invalid("predicate", "it must be a JSON object".to_owned()));
    }

    let report_digest = sha256_hex(report_bytes);
    let statement = StatementOut {
        statement_type: IN_TOTO_STATEMENT_TYPE,
        subject: [
            SubjectOut {
                name: report_name,
                digest: DigestSet {
                    sha256: &report_digest,
                },
            },
            SubjectOut {
                name: dataset_name,
                digest: DigestSet {
                    sha256: dataset_digest,
                },
            },
        ],
        predicate_type: predicate_type.uri(),
        predicate: &predicate,
    };
    let payload =
        serde_json::to_vec(&statement).map_err(|err| SigningError::Serialize(err.to_string()))?;
    sign_envelope(&payload, key)
}

/// Checks `attestation_text` against the exact `report_bytes` and `public`.
pub(super) fn verify_attestation(
    report_bytes: &[u8],
    public: &PublicKey,
    attestation_text: &str,
) -> Result<VerifiedAttestation, VerifyError> {
    let payload = open_envelope(public, attestation_text)?;
    // The payload is authenticated from here on.
    check_statement(report_bytes, &payload)
}

/// The authenticated payload of an envelope in the exact form overlap writes, signed by `public`.
fn open_envelope(public: &PublicKey, text: &str) -> Result<Vec<u8>, VerifyError> {
    let malformed = |reason: String| VerifyError::MalformedAttestation(reason);
    let envelope: Envelope = serde_json::from_str(text)
        .map_err(|err| malformed(format!("not a DSSE envelope: {err}")))?;
    // One spelling only: whitespace, escapes, key order or a missing final newline would all
    // parse to the same envelope, so anything that does not re-render identically is refused.
    let canonical = render_envelope(&envelope).map_err(|err| malformed(err.to_string()))?;
    if canonical != text {
        return Err(malformed(
            "not in the exact form overlap writes (compact JSON, one final newline); was it \
             reformatted?"
                .to_owned(),
        ));
    }
    if envelope.payload_type != DSSE_PAYLOAD_TYPE {
        return Err(VerifyError::UnsupportedPayloadType(envelope.payload_type));
    }
    let [signature] = envelope.signatures.as_slice() else {
        return Err(malformed(format!(
            "expected exactly one signature, found {}",
            envelope.signatures.len()
        )));
    };
    let fingerprint = public.fingerprint();
    if signature.keyid != fingerprint {
        return Err(VerifyError::AttestationKeyMismatch {
            expected: fingerprint,
            found: signature.keyid.clone(),
        });
    }
    let payload = BASE64
        .decode(&envelope.payload)
        .map_err(|err| malformed(format!("payload is not valid base64 ({err})")))?;
    let sig_bytes = BASE64
        .decode(&signature.sig)
        .map_err(|err| malformed(format!("signature is not valid base64 ({err})")))?;
    let sig = <[u8; SIGNATURE_LEN]>::try_from(sig_bytes.as_slice()).map_err(|_| {
        malformed(format!(
            "signature holds {} bytes, expected {SIGNATURE_LEN}",
            sig_bytes.len()
        ))
    })?;
    public
        .verifying_key()
        .verify_strict(
            &pae(&envelope.payload_type, &payload),
            &Signature::from_bytes(&sig),
        )
        .map_err(|_| VerifyError::BadAttestationSignature)?;
    Ok(payload)
}

/// Builds, signs and returns the text of an envelope whose statement is about one dataset
/// version (a gate verdict): one subject, `dataset:NAME@VERSION` with its content digest, and a
/// predicate of a standard type (`predicate_type` is its URI).
pub fn attest_dataset(
    dataset_subject: (&str, &str),
    predicate_type: &str,
    predicate: Value,
    key: &SecretKey,
) -> Result<String, SigningError> {
    let (dataset_name, dataset_digest) = dataset_subject;
    check_dataset_subject_name(dataset_name)
        .map_err(|reason| invalid("dataset subject name", reason))?;
    if !is_sha256_hex(dataset_digest) {
        return Err(invalid(
            "dataset digest",
            format!("'{dataset_digest}' is not 64 lowercase hex digits"),
        ));
    }
    if !predicate.is_object() {
        return Err(invalid("predicate", "it must be a JSON object".to_owned()));
    }
    let statement = DatasetStatementOut {
        statement_type: IN_TOTO_STATEMENT_TYPE,
        subject: [SubjectOut {
            name: dataset_name,
            digest: DigestSet {
                sha256: dataset_digest,
            },
        }],
        predicate_type,
        predicate: &predicate,
    };
    let payload =
        serde_json::to_vec(&statement).map_err(|err| SigningError::Serialize(err.to_string()))?;
    sign_envelope(&payload, key)
}

fn sign_envelope(payload: &[u8], key: &SecretKey) -> Result<String, SigningError> {
    let signature = key
        .signing_key()
        .sign(&pae(DSSE_PAYLOAD_TYPE, payload))
        .to_bytes();
    let envelope = Envelope {
        payload_type: DSSE_PAYLOAD_TYPE.to_owned(),
        payload: BASE64.encode(payload),
        signatures: vec![EnvelopeSignature {
            keyid: key.public_key().fingerprint(),
            sig: BASE64.encode(signature),
        }],
    };
    render_envelope(&envelope).map_err(|err| SigningError::Serialize(err.to_string()))
}

/// What a verified dataset statement (a gate attestation) states.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedStatement {
    /// `dataset:NAME@VERSION`.
    pub dataset_subject: String,
    /// The dataset version's content digest.
    pub dataset_digest: String,
    pub predicate_type: String,
    pub predicate: Value,
}

/// Checks an envelope written by [`attest_dataset`]: the exact form, the signature by `public`,
/// the statement type, one dataset subject, and a predicate of type `predicate_type`.
pub fn verify_dataset_statement(
    public: &PublicKey,
    text: &str,
    predicate_type: &str,
) -> Result<VerifiedStatement, VerifyError> {
    let payload = open_envelope(public, text)?;
    let bad = |reason: String| VerifyError::MalformedStatement(reason);
    let statement: StatementIn =
        serde_json::from_slice(&payload).map_err(|err| bad(err.to_string()))?;
    if statement.statement_type != IN_TOTO_STATEMENT_TYPE {
        return Err(bad(format!(
            "_type is '{}', expected '{IN_TOTO_STATEMENT_TYPE}'",
            statement.statement_type
        )));
    }
    if statement.predicate_type != predicate_type {
        return Err(VerifyError::UnknownPredicateType(statement.predicate_type));
    }
    let [subject] = statement.subject.as_slice() else {
        return Err(bad(format!(
            "expected exactly one subject (the dataset version), found {}",
            statement.subject.len()
        )));
    };
    check_dataset_subject_name(&subject.name).map_err(bad)?;
    if !is_sha256_hex(&subject.digest.sha256) {
        return Err(bad(format!(
            "subject '{}' has sha256 '{}', expected 64 lowercase hex digits",
            subject.name, subject.digest.sha256
        )));
    }
    if !statement.predicate.is_object() {
        return Err(bad("the predicate is not a JSON object".to_owned()));
    }
    Ok(VerifiedStatement {
        dataset_subject: subject.name.clone(),
        dataset_digest: subject.digest.sha256.clone(),
        predicate_type: statement.predicate_type,
        predicate: statement.predicate,
    })
}

/// Whether `text` reads as a DSSE envelope (and not as a report), for `overlap verify` to tell
/// what it was given.
pub fn is_envelope(text: &str) -> bool {
    serde_json::from_str::<Envelope>(text).is_ok()
}

fn check_statement(
    report_bytes: &[u8],
    payload: &[u8],
) -> Result<VerifiedAttestation, VerifyError> {
    let bad = |reason: String| VerifyError::MalformedStatement(reason);
    let statement: StatementIn =
        serde_json::from_slice(payload).map_err(|err| bad(err.to_string()))?;
    if statement.statement_type != IN_TOTO_STATEMENT_TYPE {
        return Err(bad(format!(
            "_type is '{}', expected '{IN_TOTO_STATEMENT_TYPE}'",
            statement.statement_type
        )));
    }
    let predicate_type = PredicateType::from_uri(&statement.predicate_type)
        .ok_or_else(|| VerifyError::UnknownPredicateType(statement.predicate_type.clone()))?;
    if !statement.predicate.is_object() {
        return Err(bad("the predicate is not a JSON object".to_owned()));
    }
    for subject in &statement.subject {
        check_subject_name(&subject.name).map_err(|reason| bad(format!("subject {reason}")))?;
        if !is_sha256_hex(&subject.digest.sha256) {
            return Err(bad(format!(
                "subject '{}' has sha256 '{}', expected 64 lowercase hex digits",
                subject.name, subject.digest.sha256
            )));
        }
    }
    let (datasets, files): (Vec<&SubjectIn>, Vec<&SubjectIn>) = statement
        .subject
        .iter()
        .partition(|subject| subject.name.starts_with(DATASET_SUBJECT_PREFIX));
    let [dataset] = datasets.as_slice() else {
        return Err(bad(format!(
            "expected exactly one '{DATASET_SUBJECT_PREFIX}' subject, found {}",
            datasets.len()
        )));
    };
    check_dataset_subject_name(&dataset.name).map_err(bad)?;
    let report_digest = sha256_hex(report_bytes);
    let report = files
        .iter()
        .find(|subject| subject.digest.sha256 == report_digest)
        .ok_or_else(|| VerifyError::ReportNotInSubjects {
            sha256: report_digest.clone(),
        })?;
    Ok(VerifiedAttestation {
        report_subject: report.name.clone(),
        dataset_subject: dataset.name.clone(),
        dataset_digest: dataset.digest.sha256.clone(),
        predicate_type,
        predicate: statement.predicate,
    })
}

/// DSSE pre-authentication encoding: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths
/// in ASCII decimal bytes.
fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

fn render_envelope(envelope: &Envelope) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string(envelope)?;
    text.push('\n');
    Ok(text)
}

fn invalid(field: &'static str, reason: String) -> SigningError {
    SigningError::InvalidInput { field, reason }
}

fn check_subject_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("name is empty".to_owned());
    }
    if name.chars().any(char::is_control) {
        return Err(format!("name {name:?} contains control characters"));
    }
    Ok(())
}

fn check_dataset_subject_name(name: &str) -> Result<(), String> {
    check_subject_name(name)?;
    match name.strip_prefix(DATASET_SUBJECT_PREFIX) {
        Some(rest) if !rest.is_empty() => Ok(()),
        _ => Err(format!(
            "dataset subject '{name}' must read '{DATASET_SUBJECT_PREFIX}NAME@VERSION'"
        )),
    }
}

#[derive(Serialize)]
struct StatementOut<'a> {
    #[serde(rename = "_type")]
    statement_type: &'a str,
    subject: [SubjectOut<'a>; 2],
    #[serde(rename = "predicateType")]
    predicate_type: &'a str,
    predicate: &'a Value,
}

#[derive(Serialize)]
struct DatasetStatementOut<'a> {
    #[serde(rename = "_type")]
    statement_type: &'a str,
    subject: [SubjectOut<'a>; 1],
    #[serde(rename = "predicateType")]
    predicate_type: &'a str,
    predicate: &'a Value,
}

#[derive(Serialize)]
struct SubjectOut<'a> {
    name: &'a str,
    digest: DigestSet<'a>,
}

#[derive(Serialize)]
struct DigestSet<'a> {
    sha256: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatementIn {
    #[serde(rename = "_type")]
    statement_type: String,
    subject: Vec<SubjectIn>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubjectIn {
    name: String,
    digest: DigestSetIn,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DigestSetIn {
    sha256: String,
}

/// DSSE envelope; field order here is the order written.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    #[serde(rename = "payloadType")]
    payload_type: String,
    payload: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeSignature {
    keyid: String,
    sig: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_specification_example() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn predicate_uris_round_trip() {
        for kind in PredicateType::ALL {
            assert_eq!(PredicateType::from_uri(kind.uri()), Some(kind));
        }
        assert_eq!(
            PredicateType::from_uri("https://overlap.dev/other/v1"),
            None
        );
    }

    #[test]
    fn subject_names_are_checked() {
        assert_eq!(dataset_subject_name("prefs", 3), "dataset:prefs@3");
        assert!(check_dataset_subject_name("dataset:prefs@3").is_ok());
        assert!(check_dataset_subject_name("prefs@3").is_err());
        assert!(check_dataset_subject_name("dataset:").is_err());
        assert!(check_subject_name("a\nb").is_err());
    }
}
