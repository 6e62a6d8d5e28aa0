//! Sign-then-verify round trips and tamper tests for report signatures and attestations.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::Signer as _;
use overlap::report::signing::{
    DESIGN_ADEQUACY_PREDICATE, KeyFormatError, KeyKind, NUTRITION_LABEL_PREDICATE, PredicateType,
    SecretKey, SignedMeta, SigningError, VerifyError, attest, dataset_subject_name,
    generate_key_pair, parse_public_key, parse_secret_key, sha256_hex, sign_report, verify,
};
use serde_json::json;

const SEED: [u8; 32] = [0x42; 32];
const OTHER_SEED: [u8; 32] = [0x17; 32];

/// Single-byte changes tried at every position: lowest bit, ASCII case, high bit, all bits.
const MASKS: [u8; 4] = [0x01, 0x20, 0x80, 0xff];

const REPORT: &[u8] = b"# Nutrition label: prefs@3\n\n\
| bucket | n | lambda_min | worst_se | verdict |\n\
|---|---:|---:|---:|---|\n\
| benign | 1200 | 0.0412 | 0.0711 | pass |\n\
| self-harm | 310 | 0.0083 | 0.1982 | **fail** (min-overlap: 0.0083 < 0.05) |\n\n\
Weakest direction (self-harm): +0.91 length, -0.41 refusal.\n";

struct Fixture {
    key: SecretKey,
    public_text: String,
    meta: SignedMeta,
    dataset_name: String,
    signature: String,
    attestation: String,
}

fn meta() -> SignedMeta {
    SignedMeta {
        dataset_digest: sha256_hex(b"dataset prefs version 3"),
        policy_digest: Some(sha256_hex(b"policy release-gate")),
        tool_version: "0.1.0".to_owned(),
    }
}

fn predicate() -> serde_json::Value {
    json!({
        "policy": "release-gate",
        "verdict": "fail",
        "buckets": {"benign": "pass", "self-harm": "fail"},
        "lambda_min": {"benign": 0.0412, "self-harm": 0.0083}
    })
}

fn fixture() -> Fixture {
    let key = SecretKey::from_seed(&SEED);
    let meta = meta();
    let dataset_name = dataset_subject_name("prefs", 3);
    let signature = sign_report(REPORT, &key, &meta).expect("signing a valid report");
    let attestation = attest(
        "label.md",
        REPORT,
        (&dataset_name, &meta.dataset_digest),
        PredicateType::NutritionLabel,
        predicate(),
        &key,
    )
    .expect("attesting a valid report");
    Fixture {
        public_text: key.public_key().to_text(),
        key,
        meta,
        dataset_name,
        signature,
        attestation,
    }
}

fn flipped(bytes: &[u8], position: usize, mask: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if let Some(byte) = out.get_mut(position) {
        *byte ^= mask;
    }
    out
}

/// A text with one byte changed; invalid UTF-8 becomes U+FFFD, which is still a change.
fn flipped_text(text: &str, position: usize, mask: u8) -> String {
    String::from_utf8_lossy(&flipped(text.as_bytes(), position, mask)).into_owned()
}

/// Signs `statement` as a DSSE envelope with the fixture key, bypassing `attest`'s checks.
fn craft_envelope(statement: &str) -> String {
    let key = ed25519_dalek::SigningKey::from_bytes(&SEED);
    let payload_type = "application/vnd.in-toto+json";
    let mut pae = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        statement.len()
    )
    .into_bytes();
    pae.extend_from_slice(statement.as_bytes());
    let sig = key.sign(&pae).to_bytes();
    let keyid = SecretKey::from_seed(&SEED).public_key().fingerprint();
    format!(
        "{{\"payloadType\":\"{payload_type}\",\"payload\":\"{}\",\"signatures\":[{{\"keyid\":\"{keyid}\",\"sig\":\"{}\"}}]}}\n",
        BASE64.encode(statement),
        BASE64.encode(sig)
    )
}

/// Builds a minisign-layout signature file signed by `seed`, claiming key id `key_id_of`'s id.
fn craft_signature(
    report: &[u8],
    trusted_comment: &str,
    seed: &[u8; 32],
    key_id_of: &[u8; 32],
) -> String {
    let key = ed25519_dalek::SigningKey::from_bytes(seed);
    let claimed = SecretKey::from_seed(key_id_of);
    let key_id_hex = claimed.public_key().key_id();
    let key_id: Vec<u8> = (0..8)
        .map(|i| u8::from_str_radix(&key_id_hex[2 * i..2 * i + 2], 16).expect("hex"))
        .collect();
    let sig = key.sign(report).to_bytes();
    let mut global = sig.to_vec();
    global.extend_from_slice(trusted_comment.as_bytes());
    let global = key.sign(&global).to_bytes();
    let mut blob = b"Ed".to_vec();
    blob.extend_from_slice(&key_id);
    blob.extend_from_slice(&sig);
    format!(
        "untrusted comment: signature from overlap secret key {key_id_hex}\n{}\ntrusted comment: {trusted_comment}\n{}\n",
        BASE64.encode(blob),
        BASE64.encode(global)
    )
}

fn statement_json(predicate_type: &str, report_digest: &str, dataset_digest: &str) -> String {
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {"name": "label.md", "digest": {"sha256": report_digest}},
            {"name": "dataset:prefs@3", "digest": {"sha256": dataset_digest}}
        ],
        "predicateType": predicate_type,
        "predicate": {"verdict": "pass"}
    })
    .to_string()
}

#[test]
fn generated_keys_round_trip_through_their_files() {
    let pair = generate_key_pair().expect("os randomness");
    let public = parse_public_key(&pair.public.to_text()).expect("own public key parses");
    let secret = parse_secret_key(&pair.secret.to_text()).expect("own secret key parses");
    assert_eq!(&public, &pair.public);
    assert_eq!(secret.public_key(), &pair.public);
    assert_eq!(public.fingerprint(), sha256_hex(&public_key_bytes(&public)));
    assert!(public.fingerprint().starts_with(&public.key_id()));
    let other = generate_key_pair().expect("os randomness");
    assert_ne!(other.public, pair.public, "two generated keys must differ");

    let signature = sign_report(REPORT, &secret, &meta()).expect("sign");
    let verified = verify(REPORT, &pair.public.to_text(), Some(&signature), None).expect("verify");
    assert_eq!(verified.signer_fingerprint, public.fingerprint());
}

fn public_key_bytes(public: &overlap::report::signing::PublicKey) -> Vec<u8> {
    let text = public.to_text();
    let line = text.lines().nth(1).expect("key line");
    BASE64.decode(line).expect("base64")[10..].to_vec()
}

#[test]
fn key_file_layout_is_minisign_like() {
    let key = SecretKey::from_seed(&SEED);
    let public = key.public_key();
    let text = public.to_text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some(format!("untrusted comment: overlap public key {}", public.key_id()).as_str())
    );
    let blob = BASE64.decode(lines[1]).expect("base64");
    assert_eq!(blob.len(), 42);
    assert_eq!(&blob[..2], b"Ed");
    let secret_text = key.to_text();
    assert!(secret_text.starts_with("untrusted comment: overlap secret key "));
    assert!(secret_text.ends_with('\n'));
}

#[test]
fn signature_alone_verifies() {
    let f = fixture();
    let verified = verify(REPORT, &f.public_text, Some(&f.signature), None).expect("verifies");
    assert_eq!(verified.report_sha256, sha256_hex(REPORT));
    assert_eq!(verified.dataset_digest, f.meta.dataset_digest);
    assert_eq!(verified.signature.as_ref(), Some(&f.meta));
    assert_eq!(verified.policy_digest(), f.meta.policy_digest.as_deref());
    assert_eq!(verified.tool_version(), Some("0.1.0"));
    assert_eq!(
        verified.signer_fingerprint,
        f.key.public_key().fingerprint()
    );
    assert_eq!(verified.signer_key_id, f.key.public_key().key_id());
    assert_eq!(verified.attestation, None);
    assert_eq!(verified.predicate_type(), None);
}

#[test]
fn attestation_alone_verifies() {
    let f = fixture();
    let verified = verify(REPORT, &f.public_text, None, Some(&f.attestation)).expect("verifies");
    assert_eq!(verified.dataset_digest, f.meta.dataset_digest);
    assert_eq!(verified.signature, None);
    assert_eq!(
        verified.predicate_type(),
        Some(PredicateType::NutritionLabel)
    );
    assert_eq!(verified.predicate(), Some(&predicate()));
    let claims = verified.attestation.expect("attestation claims");
    assert_eq!(claims.report_subject, "label.md");
    assert_eq!(claims.dataset_subject, f.dataset_name);
}

#[test]
fn signature_and_attestation_together_verify() {
    let f = fixture();
    let verified = verify(
        REPORT,
        &f.public_text,
        Some(&f.signature),
        Some(&f.attestation),
    )
    .expect("verifies");
    assert_eq!(verified.tool_version(), Some("0.1.0"));
    assert_eq!(
        verified.predicate_type(),
        Some(PredicateType::NutritionLabel)
    );
    assert_eq!(verified.dataset_digest, f.meta.dataset_digest);
}

#[test]
fn design_adequacy_attestation_and_report_without_policy_verify() {
    let key = SecretKey::from_seed(&SEED);
    let meta = SignedMeta {
        policy_digest: None,
        ..meta()
    };
    let signature = sign_report(REPORT, &key, &meta).expect("sign");
    let attestation = attest(
        "adequacy.html",
        REPORT,
        ("dataset:prefs@3", &meta.dataset_digest),
        PredicateType::DesignAdequacy,
        json!({"identified": ["length"], "missing": ["length-refusal"]}),
        &key,
    )
    .expect("attest");
    let verified = verify(
        REPORT,
        &key.public_key().to_text(),
        Some(&signature),
        Some(&attestation),
    )
    .expect("verifies");
    assert_eq!(verified.policy_digest(), None);
    assert_eq!(
        verified.predicate_type(),
        Some(PredicateType::DesignAdequacy)
    );
    assert_eq!(
        PredicateType::DesignAdequacy.uri(),
        DESIGN_ADEQUACY_PREDICATE
    );
    assert!(attestation_statement(&attestation).contains(DESIGN_ADEQUACY_PREDICATE));
}

fn attestation_statement(attestation: &str) -> String {
    let envelope: serde_json::Value = serde_json::from_str(attestation).expect("json");
    let payload = envelope["payload"].as_str().expect("payload");
    String::from_utf8(BASE64.decode(payload).expect("base64")).expect("utf-8")
}

#[test]
fn outputs_are_deterministic_and_in_the_documented_shape() {
    let a = fixture();
    let b = fixture();
    assert_eq!(a.signature, b.signature);
    assert_eq!(a.attestation, b.attestation);
    assert_eq!(a.public_text, b.public_text);

    let lines: Vec<&str> = a.signature.lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines[2],
        format!(
            "trusted comment: overlap-report/v1 dataset_sha256={} policy_sha256={} tool_version=0.1.0",
            a.meta.dataset_digest,
            a.meta.policy_digest.as_deref().unwrap_or_default()
        )
    );

    let statement = attestation_statement(&a.attestation);
    let expected = format!(
        "{{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[\
         {{\"name\":\"label.md\",\"digest\":{{\"sha256\":\"{}\"}}}},\
         {{\"name\":\"dataset:prefs@3\",\"digest\":{{\"sha256\":\"{}\"}}}}],\
         \"predicateType\":\"{NUTRITION_LABEL_PREDICATE}\",\"predicate\":{}}}",
        sha256_hex(REPORT),
        a.meta.dataset_digest,
        predicate()
    );
    assert_eq!(statement, expected);
    assert!(
        a.attestation
            .starts_with("{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"")
    );
    assert!(a.attestation.ends_with("\"}]}\n"));
}

#[test]
fn every_changed_report_byte_fails_every_check() {
    let f = fixture();
    for position in 0..REPORT.len() {
        for mask in MASKS {
            let report = flipped(REPORT, position, mask);
            assert!(
                verify(&report, &f.public_text, Some(&f.signature), None).is_err(),
                "signature accepted report with byte {position} ^ {mask:#04x}"
            );
            assert!(
                matches!(
                    verify(&report, &f.public_text, None, Some(&f.attestation)),
                    Err(VerifyError::ReportNotInSubjects { .. })
                ),
                "attestation accepted report with byte {position} ^ {mask:#04x}"
            );
            assert!(
                verify(
                    &report,
                    &f.public_text,
                    Some(&f.signature),
                    Some(&f.attestation)
                )
                .is_err()
            );
        }
    }
    let mut longer = REPORT.to_vec();
    longer.push(b'\n');
    assert!(verify(&longer, &f.public_text, Some(&f.signature), None).is_err());
    assert!(
        verify(
            &REPORT[..REPORT.len() - 1],
            &f.public_text,
            Some(&f.signature),
            None
        )
        .is_err()
    );
}

#[test]
fn every_changed_signature_byte_fails() {
    let f = fixture();
    for position in 0..f.signature.len() {
        for mask in MASKS {
            let signature = flipped_text(&f.signature, position, mask);
            assert!(
                verify(REPORT, &f.public_text, Some(&signature), None).is_err(),
                "accepted signature with byte {position} ^ {mask:#04x}: {signature:?}"
            );
            // A bad signature must sink the pair even when the attestation is fine.
            assert!(
                verify(
                    REPORT,
                    &f.public_text,
                    Some(&signature),
                    Some(&f.attestation)
                )
                .is_err()
            );
        }
    }
    for length in 0..f.signature.len() {
        assert!(verify(REPORT, &f.public_text, Some(&f.signature[..length]), None).is_err());
    }
    assert!(
        verify(
            REPORT,
            &f.public_text,
            Some(&format!("{}\n", f.signature)),
            None
        )
        .is_err()
    );
}

#[test]
fn every_changed_attestation_byte_fails() {
    let f = fixture();
    for position in 0..f.attestation.len() {
        for mask in MASKS {
            let attestation = flipped_text(&f.attestation, position, mask);
            assert!(
                verify(REPORT, &f.public_text, None, Some(&attestation)).is_err(),
                "accepted attestation with byte {position} ^ {mask:#04x}: {attestation:?}"
            );
        }
    }
    for length in 0..f.attestation.len() {
        assert!(verify(REPORT, &f.public_text, None, Some(&f.attestation[..length])).is_err());
    }
    let pretty = serde_json::to_string_pretty(
        &serde_json::from_str::<serde_json::Value>(&f.attestation).expect("json"),
    )
    .expect("json");
    assert!(matches!(
        verify(REPORT, &f.public_text, None, Some(&format!("{pretty}\n"))),
        Err(VerifyError::MalformedAttestation(_))
    ));
}

#[test]
fn every_changed_public_key_byte_fails() {
    let f = fixture();
    for position in 0..f.public_text.len() {
        for mask in MASKS {
            let public_text = flipped_text(&f.public_text, position, mask);
            assert!(
                verify(
                    REPORT,
                    &public_text,
                    Some(&f.signature),
                    Some(&f.attestation)
                )
                .is_err(),
                "accepted public key with byte {position} ^ {mask:#04x}"
            );
        }
    }
}

#[test]
fn every_changed_secret_key_byte_is_rejected_without_echoing_the_secret() {
    let key = SecretKey::from_seed(&SEED);
    let text = key.to_text();
    let secret_line = text.lines().nth(1).expect("key line").to_owned();
    for position in 0..text.len() {
        for mask in MASKS {
            let changed = flipped_text(&text, position, mask);
            let err = match parse_secret_key(&changed) {
                Ok(_) => panic!("accepted secret key with byte {position} ^ {mask:#04x}"),
                Err(err) => err.to_string(),
            };
            assert!(
                !err.contains(&secret_line[..8]),
                "error echoes the secret: {err}"
            );
        }
    }
}

#[test]
fn wrong_key_fails() {
    let f = fixture();
    let other = SecretKey::from_seed(&OTHER_SEED).public_key().to_text();
    assert!(matches!(
        verify(REPORT, &other, Some(&f.signature), None),
        Err(VerifyError::SignatureKeyMismatch { .. })
    ));
    assert!(matches!(
        verify(REPORT, &other, None, Some(&f.attestation)),
        Err(VerifyError::AttestationKeyMismatch { .. })
    ));

    // Signed by another key but claiming the fixture key's id: the signature itself must fail.
    let forged = craft_signature(REPORT, &trusted_comment(&f.meta), &OTHER_SEED, &SEED);
    assert_eq!(
        verify(REPORT, &f.public_text, Some(&forged), None),
        Err(VerifyError::BadSignature)
    );
    // Sanity check of the crafting helper: signed by the right key it verifies.
    let genuine = craft_signature(REPORT, &trusted_comment(&f.meta), &SEED, &SEED);
    assert_eq!(genuine, f.signature);
}

fn trusted_comment(meta: &SignedMeta) -> String {
    format!(
        "overlap-report/v1 dataset_sha256={} policy_sha256={} tool_version={}",
        meta.dataset_digest,
        meta.policy_digest.as_deref().unwrap_or("none"),
        meta.tool_version
    )
}

#[test]
fn missing_signature_and_attestation_fails() {
    let f = fixture();
    assert_eq!(
        verify(REPORT, &f.public_text, None, None),
        Err(VerifyError::NothingToVerify)
    );
    let message = VerifyError::NothingToVerify.to_string();
    assert!(message.contains("--signature") && message.contains("--attestation"));
    assert!(verify(REPORT, &f.public_text, Some(""), None).is_err());
    assert!(verify(REPORT, &f.public_text, None, Some("")).is_err());
}

#[test]
fn unknown_predicate_type_fails() {
    let f = fixture();
    let statement = statement_json(
        "https://overlap.dev/unknown/v1",
        &sha256_hex(REPORT),
        &f.meta.dataset_digest,
    );
    assert_eq!(
        verify(
            REPORT,
            &f.public_text,
            None,
            Some(&craft_envelope(&statement))
        ),
        Err(VerifyError::UnknownPredicateType(
            "https://overlap.dev/unknown/v1".to_owned()
        ))
    );
    // The crafting helper itself produces envelopes that verify.
    let known = statement_json(
        NUTRITION_LABEL_PREDICATE,
        &sha256_hex(REPORT),
        &f.meta.dataset_digest,
    );
    assert!(verify(REPORT, &f.public_text, None, Some(&craft_envelope(&known))).is_ok());
}

#[test]
fn signed_but_malformed_statements_fail() {
    let f = fixture();
    let report = sha256_hex(REPORT);
    let dataset = &f.meta.dataset_digest;
    let cases = [
        statement_json(NUTRITION_LABEL_PREDICATE, &report, dataset)
            .replace("Statement/v1", "Statement/v0.1"),
        statement_json(NUTRITION_LABEL_PREDICATE, &report, dataset)
            .replace("dataset:prefs@3", "prefs@3"),
        statement_json(NUTRITION_LABEL_PREDICATE, &report, dataset)
            .replace("\"label.md\"", "\"dataset:other@1\""),
        statement_json(NUTRITION_LABEL_PREDICATE, &report, dataset)
            .replace("{\"verdict\":\"pass\"}", "[1,2]"),
        statement_json(NUTRITION_LABEL_PREDICATE, &report.to_uppercase(), dataset),
        statement_json(NUTRITION_LABEL_PREDICATE, &report, dataset)
            .replace("\"predicate\":", "\"extra\":1,\"predicate\":"),
        "not json".to_owned(),
    ];
    for statement in cases {
        assert!(
            matches!(
                verify(
                    REPORT,
                    &f.public_text,
                    None,
                    Some(&craft_envelope(&statement))
                ),
                Err(VerifyError::MalformedStatement(_))
            ),
            "accepted {statement}"
        );
    }
    // Validly signed, but for another report.
    let elsewhere = statement_json(NUTRITION_LABEL_PREDICATE, &sha256_hex(b"other"), dataset);
    assert!(matches!(
        verify(
            REPORT,
            &f.public_text,
            None,
            Some(&craft_envelope(&elsewhere))
        ),
        Err(VerifyError::ReportNotInSubjects { .. })
    ));
}

#[test]
fn malformed_trusted_comment_fails_even_when_signed() {
    let f = fixture();
    let good = trusted_comment(&f.meta);
    for comment in [
        good.replace("overlap-report/v1", "overlap-report/v9"),
        good.replace(" tool_version=0.1.0", ""),
        good.replace("tool_version=0.1.0", "tool_version=0.1 0"),
        good.replace("dataset_sha256=", "dataset_sha256=x"),
        format!("{good}\t"),
        "timestamp:1556193335\tfile:label.md".to_owned(),
    ] {
        let signature = craft_signature(REPORT, &comment, &SEED, &SEED);
        assert!(
            matches!(
                verify(REPORT, &f.public_text, Some(&signature), None),
                Err(VerifyError::MalformedTrustedComment(_))
            ),
            "accepted trusted comment {comment:?}"
        );
    }
}

#[test]
fn signature_and_attestation_must_name_the_same_dataset() {
    let f = fixture();
    let other_meta = SignedMeta {
        dataset_digest: sha256_hex(b"another dataset"),
        ..meta()
    };
    let signature = sign_report(REPORT, &f.key, &other_meta).expect("sign");
    assert!(matches!(
        verify(
            REPORT,
            &f.public_text,
            Some(&signature),
            Some(&f.attestation)
        ),
        Err(VerifyError::DatasetDigestMismatch { .. })
    ));
}

#[test]
fn malformed_key_files_are_rejected_with_clear_errors() {
    let key = SecretKey::from_seed(&SEED);
    let public = key.public_key().to_text();
    let secret = key.to_text().to_string();
    let (comment, line) = public.split_once('\n').expect("two lines");
    let line = line.trim_end();
    let blob = BASE64.decode(line).expect("base64");

    let with_blob = |blob: &[u8]| format!("{comment}\n{}\n", BASE64.encode(blob));
    let mut wrong_algorithm = blob.clone();
    wrong_algorithm[..2].copy_from_slice(b"RS");
    let mut wrong_id = blob.clone();
    wrong_id[2] ^= 1;
    let with_key = |key: [u8; 32]| {
        // A blob whose key id is right for `key`, so only the point checks can reject it.
        let mut out = b"Ed".to_vec();
        out.extend_from_slice(&sha2_prefix(&key));
        out.extend_from_slice(&key);
        out
    };
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let not_a_point = (2u8..=255)
        .map(|b| [b; 32])
        .find(|bytes| ed25519_dalek::VerifyingKey::from_bytes(bytes).is_err())
        .expect("some byte pattern is not a curve point");

    let cases: Vec<(String, KeyFormatError, &str)> = vec![
        (
            String::new(),
            KeyFormatError::Layout {
                kind: KeyKind::Public,
            },
            "two lines",
        ),
        (
            public.trim_end().to_owned(),
            KeyFormatError::Layout {
                kind: KeyKind::Public,
            },
            "ending in a newline",
        ),
        (
            public.replace('\n', "\r\n"),
            KeyFormatError::Layout {
                kind: KeyKind::Public,
            },
            "CRLF",
        ),
        (
            format!("{public}\n"),
            KeyFormatError::Layout {
                kind: KeyKind::Public,
            },
            "two lines",
        ),
        (
            format!("{line}\n{comment}\n"),
            KeyFormatError::Comment {
                kind: KeyKind::Public,
                expected: "untrusted comment: overlap public key KEYID".to_owned(),
            },
            "first line",
        ),
        (
            public.replace("overlap public key", "overlap public  key"),
            KeyFormatError::Comment {
                kind: KeyKind::Public,
                expected: comment.to_owned(),
            },
            "must read exactly",
        ),
        (
            format!("{comment}\n{line} \n"),
            KeyFormatError::Base64 {
                kind: KeyKind::Public,
                detail: String::new(),
            },
            "base64",
        ),
        (
            with_blob(&blob[..41]),
            KeyFormatError::Length {
                kind: KeyKind::Public,
                expected: 42,
                found: 41,
            },
            "41 bytes long, expected 42",
        ),
        (
            with_blob(&wrong_algorithm),
            KeyFormatError::Algorithm {
                kind: KeyKind::Public,
            },
            "only Ed25519",
        ),
        (
            with_blob(&wrong_id),
            KeyFormatError::KeyIdMismatch {
                kind: KeyKind::Public,
            },
            "key id does not match",
        ),
        (
            with_blob(&with_key(identity)),
            KeyFormatError::WeakKey,
            "weak",
        ),
        (
            with_blob(&with_key(not_a_point)),
            KeyFormatError::InvalidPoint,
            "not a valid Ed25519 point",
        ),
        (
            secret.clone(),
            KeyFormatError::WrongKind {
                expected: KeyKind::Public,
                found: KeyKind::Secret,
                hint: "pass the .pub file of the key pair; never share the .key file",
            },
            "expected a public key file but this is a secret key file",
        ),
    ];
    for (text, expected, phrase) in cases {
        let err = match parse_public_key(&text) {
            Ok(_) => panic!("accepted public key {text:?}"),
            Err(err) => err,
        };
        let message = err.to_string();
        if let KeyFormatError::Base64 { .. } = expected {
            assert!(matches!(err, KeyFormatError::Base64 { .. }), "{err:?}");
        } else {
            assert_eq!(err, expected, "for {text:?}");
        }
        assert!(
            message.contains(phrase),
            "message {message:?} lacks {phrase:?}"
        );
        // The CLI passes key errors through `verify` unchanged.
        assert_eq!(
            verify(REPORT, &text, Some("x"), None),
            Err(VerifyError::PublicKey(err))
        );
    }

    assert!(matches!(
        parse_secret_key(&public),
        Err(KeyFormatError::WrongKind {
            expected: KeyKind::Secret,
            found: KeyKind::Public,
            ..
        })
    ));
    // A secret key whose stored public half belongs to another key.
    let (secret_comment, secret_line) = secret.split_once('\n').expect("two lines");
    let mut secret_blob = BASE64.decode(secret_line.trim_end()).expect("base64");
    let other_public = SecretKey::from_seed(&OTHER_SEED).public_key().to_text();
    let other_blob = BASE64
        .decode(other_public.lines().nth(1).expect("line"))
        .expect("base64");
    secret_blob[42..].copy_from_slice(&other_blob[10..]);
    let mismatched = format!("{secret_comment}\n{}\n", BASE64.encode(&secret_blob));
    let err = parse_secret_key(&mismatched).map(|_| ()).unwrap_err();
    assert_eq!(err, KeyFormatError::SecretPublicMismatch);
    assert!(err.to_string().contains("does not match the public key"));
    assert!(matches!(
        parse_secret_key("untrusted comment: overlap secret key x\n!!!!\n"),
        Err(KeyFormatError::Base64 { detail, .. }) if detail.is_empty()
    ));
}

fn sha2_prefix(key: &[u8; 32]) -> [u8; 8] {
    let hex = sha256_hex(key);
    let mut out = [0u8; 8];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}

#[test]
fn invalid_signing_inputs_are_refused() {
    let key = SecretKey::from_seed(&SEED);
    let digest = sha256_hex(b"d");
    let attest_with = |name: &str, dataset: &str, digest: &str, predicate: serde_json::Value| {
        attest(
            name,
            REPORT,
            (dataset, digest),
            PredicateType::NutritionLabel,
            predicate,
            &key,
        )
    };
    let field = |result: Result<String, SigningError>| match result {
        Err(SigningError::InvalidInput { field, .. }) => field,
        other => panic!("expected invalid input, got {other:?}"),
    };
    assert_eq!(
        field(attest_with("", "dataset:a@1", &digest, json!({}))),
        "report name"
    );
    assert_eq!(
        field(attest_with("dataset:x", "dataset:a@1", &digest, json!({}))),
        "report name"
    );
    assert_eq!(
        field(attest_with("l.md", "a@1", &digest, json!({}))),
        "dataset subject name"
    );
    assert_eq!(
        field(attest_with("l.md", "dataset:a@1", "abc", json!({}))),
        "dataset digest"
    );
    assert_eq!(
        field(attest_with("l.md", "dataset:a@1", &digest, json!([1]))),
        "predicate"
    );
    let bad_policy = SignedMeta {
        policy_digest: Some("nope".to_owned()),
        ..meta()
    };
    assert_eq!(
        field(sign_report(REPORT, &key, &bad_policy)),
        "policy digest"
    );
}
