//! Ed25519 key pairs and the text of the `.key` and `.pub` files `overlap key generate` writes.
//!
//! Both files are two newline-terminated lines, in minisign's style: a fixed
//! `untrusted comment: overlap … key KEYID` line, then canonical base64 of a blob. Public blob:
//! `"Ed"` ‖ key id (8) ‖ public key (32), byte-compatible with a minisign public key. Secret blob
//! (overlap's own, unencrypted; the file's `0600` mode is its protection): `"Ed"` ‖ key id (8) ‖
//! seed (32) ‖ public key (32), so corruption is caught by re-deriving the public key.
//!
//! Key id = first 8 bytes of SHA-256(public key), written as 16 lowercase hex digits; fingerprint =
//! SHA-256(public key) as 64 lowercase hex digits. (minisign shows the same 8 id bytes as a
//! little-endian number, i.e. byte-reversed.) The parsers accept only the exact text the renderers
//! write. Secret bytes are zeroised on drop and never appear in errors or `Debug` output.

use std::fmt;

use base64::Engine as _;
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::error::{KeyFormatError, KeyKind, SigningError};
use super::{ALGORITHM_ED25519, BASE64, hex_lower};

const KEY_ID_LEN: usize = 8;
const KEY_LEN: usize = 32;
const PUBLIC_BLOB_LEN: usize = ALGORITHM_ED25519.len() + KEY_ID_LEN + KEY_LEN;
const SECRET_BLOB_LEN: usize = ALGORITHM_ED25519.len() + KEY_ID_LEN + KEY_LEN + KEY_LEN;

const UNTRUSTED_COMMENT: &str = "untrusted comment: ";
const PUBLIC_COMMENT: &str = "untrusted comment: overlap public key ";
const SECRET_COMMENT: &str = "untrusted comment: overlap secret key ";
const SECRET_COMMENT_SUFFIX: &str = " - keep private";

/// An Ed25519 public key (the `.pub` file) with its key id.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
    key_id: [u8; KEY_ID_LEN],
}

/// An Ed25519 secret key (the `.key` file). Zeroised on drop; `Debug` shows only the key id.
pub struct SecretKey {
    signing: SigningKey,
    public: PublicKey,
}

/// A freshly generated key pair.
#[derive(Debug)]
pub struct KeyPair {
    /// Write with [`SecretKey::to_text`] to `PREFIX.key`, mode `0600`; never print it.
    pub secret: SecretKey,
    /// Write with [`PublicKey::to_text`] to `PREFIX.pub`.
    pub public: PublicKey,
}

/// Generates a new key pair from the operating system's random number generator.
pub fn generate_key_pair() -> Result<KeyPair, SigningError> {
    let mut seed = Zeroizing::new([0u8; KEY_LEN]);
    getrandom::fill(seed.as_mut_slice())
        .map_err(|err| SigningError::Randomness(err.to_string()))?;
    let secret = SecretKey::from_seed(&seed);
    let public = secret.public.clone();
    Ok(KeyPair { secret, public })
}

/// Parses a `.pub` file, accepting only the exact text [`PublicKey::to_text`] writes.
pub fn parse_public_key(text: &str) -> Result<PublicKey, KeyFormatError> {
    let kind = KeyKind::Public;
    if text.starts_with(SECRET_COMMENT) {
        return Err(KeyFormatError::WrongKind {
            expected: KeyKind::Public,
            found: KeyKind::Secret,
            hint: "pass the .pub file of the key pair; never share the .key file",
        });
    }
    let (comment, encoded) = split_key_file(text, kind)?;
    let blob = BASE64
        .decode(encoded)
        .map_err(|err| KeyFormatError::Base64 {
            kind,
            detail: format!(" ({err})"),
        })?;
    let mut rest = check_blob_header(&blob, kind, PUBLIC_BLOB_LEN)?;
    let length_error = KeyFormatError::Length {
        kind,
        expected: PUBLIC_BLOB_LEN,
        found: blob.len(),
    };
    let key_id = take::<KEY_ID_LEN>(&mut rest).ok_or_else(|| length_error.clone())?;
    let key_bytes = take::<KEY_LEN>(&mut rest).ok_or(length_error)?;
    if derive_key_id(&key_bytes) != key_id {
        return Err(KeyFormatError::KeyIdMismatch { kind });
    }
    let key = VerifyingKey::from_bytes(&key_bytes).map_err(|_| KeyFormatError::InvalidPoint)?;
    if key.is_weak() {
        return Err(KeyFormatError::WeakKey);
    }
    let public = PublicKey { key, key_id };
    check_comment(comment, &public.comment_line(), kind)?;
    Ok(public)
}

/// Parses a `.key` file, accepting only the exact text [`SecretKey::to_text`] writes.
pub fn parse_secret_key(text: &str) -> Result<SecretKey, KeyFormatError> {
    let kind = KeyKind::Secret;
    if text.starts_with(PUBLIC_COMMENT) {
        return Err(KeyFormatError::WrongKind {
            expected: KeyKind::Secret,
            found: KeyKind::Public,
            hint: "signing needs the .key file of the key pair",
        });
    }
    let (comment, encoded) = split_key_file(text, kind)?;
    // No decoder detail here: base64 errors quote a character of the input, which would be a piece
    // of the secret.
    let blob = Zeroizing::new(BASE64.decode(encoded).map_err(|_| KeyFormatError::Base64 {
        kind,
        detail: String::new(),
    })?);
    let mut rest = check_blob_header(&blob, kind, SECRET_BLOB_LEN)?;
    let length_error = KeyFormatError::Length {
        kind,
        expected: SECRET_BLOB_LEN,
        found: blob.len(),
    };
    let key_id = take::<KEY_ID_LEN>(&mut rest).ok_or_else(|| length_error.clone())?;
    let seed = Zeroizing::new(take::<KEY_LEN>(&mut rest).ok_or_else(|| length_error.clone())?);
    let stored_public = take::<KEY_LEN>(&mut rest).ok_or(length_error)?;
    let secret = SecretKey::from_seed(&seed);
    if secret.public.key.to_bytes() != stored_public {
        return Err(KeyFormatError::SecretPublicMismatch);
    }
    if secret.public.key_id != key_id {
        return Err(KeyFormatError::KeyIdMismatch { kind });
    }
    check_comment(comment, &secret.comment_line(), kind)?;
    Ok(secret)
}

impl PublicKey {
    /// The key id: first 8 bytes of SHA-256(public key), 16 lowercase hex digits.
    pub fn key_id(&self) -> String {
        hex_lower(&self.key_id)
    }

    /// The fingerprint: SHA-256 of the 32 public-key bytes, 64 lowercase hex digits. It is also the
    /// DSSE `keyid` of attestations.
    pub fn fingerprint(&self) -> String {
        hex_lower(&Sha256::digest(self.key.as_bytes()))
    }

    /// The text of the `.pub` file.
    pub fn to_text(&self) -> String {
        let mut blob = Vec::with_capacity(PUBLIC_BLOB_LEN);
        blob.extend_from_slice(&ALGORITHM_ED25519);
        blob.extend_from_slice(&self.key_id);
        blob.extend_from_slice(self.key.as_bytes());
        format!("{}\n{}\n", self.comment_line(), BASE64.encode(&blob))
    }

    pub(super) fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    pub(super) fn key_id_bytes(&self) -> [u8; KEY_ID_LEN] {
        self.key_id
    }

    fn comment_line(&self) -> String {
        format!("{PUBLIC_COMMENT}{}", self.key_id())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

impl SecretKey {
    /// Builds a key from a 32-byte Ed25519 seed. For deterministic test fixtures; real keys come
    /// from [`generate_key_pair`].
    pub fn from_seed(seed: &[u8; KEY_LEN]) -> Self {
        let signing = SigningKey::from_bytes(seed);
        let key = signing.verifying_key();
        let key_id = derive_key_id(key.as_bytes());
        Self {
            signing,
            public: PublicKey { key, key_id },
        }
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The text of the `.key` file; zeroised when dropped. Write it with mode `0600`, never print it.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut blob = Zeroizing::new(Vec::with_capacity(SECRET_BLOB_LEN));
        blob.extend_from_slice(&ALGORITHM_ED25519);
        blob.extend_from_slice(&self.public.key_id);
        blob.extend_from_slice(self.signing.as_bytes());
        blob.extend_from_slice(self.public.key.as_bytes());
        let encoded = Zeroizing::new(BASE64.encode(blob.as_slice()));
        let comment = self.comment_line();
        // Sized up front so that pushing never reallocates and leaves an unzeroised copy behind.
        let mut text = Zeroizing::new(String::with_capacity(comment.len() + encoded.len() + 2));
        text.push_str(&comment);
        text.push('\n');
        text.push_str(&encoded);
        text.push('\n');
        text
    }

    pub(super) fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    fn comment_line(&self) -> String {
        format!(
            "{SECRET_COMMENT}{}{SECRET_COMMENT_SUFFIX}",
            self.public.key_id()
        )
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("key_id", &self.public.key_id())
            .finish_non_exhaustive()
    }
}

fn derive_key_id(public_key: &[u8; KEY_LEN]) -> [u8; KEY_ID_LEN] {
    let digest = Sha256::digest(public_key);
    let mut id = [0u8; KEY_ID_LEN];
    for (out, byte) in id.iter_mut().zip(digest.iter()) {
        *out = *byte;
    }
    id
}

/// Splits a key file into its comment and base64 lines, requiring exactly two `\n`-terminated lines
/// and the `untrusted comment: ` prefix.
fn split_key_file(text: &str, kind: KeyKind) -> Result<(&str, &str), KeyFormatError> {
    if text.contains('\r') {
        return Err(KeyFormatError::Layout { kind });
    }
    let body = text
        .strip_suffix('\n')
        .ok_or(KeyFormatError::Layout { kind })?;
    let mut lines = body.split('\n');
    let (Some(comment), Some(encoded), None) = (lines.next(), lines.next(), lines.next()) else {
        return Err(KeyFormatError::Layout { kind });
    };
    if !comment.starts_with(UNTRUSTED_COMMENT) {
        return Err(KeyFormatError::Comment {
            kind,
            expected: placeholder_comment(kind),
        });
    }
    Ok((comment, encoded))
}

fn placeholder_comment(kind: KeyKind) -> String {
    match kind {
        KeyKind::Public => format!("{PUBLIC_COMMENT}KEYID"),
        KeyKind::Secret => format!("{SECRET_COMMENT}KEYID{SECRET_COMMENT_SUFFIX}"),
    }
}

fn check_comment(found: &str, expected: &str, kind: KeyKind) -> Result<(), KeyFormatError> {
    if found == expected {
        Ok(())
    } else {
        Err(KeyFormatError::Comment {
            kind,
            expected: expected.to_owned(),
        })
    }
}

/// Checks the blob's length and algorithm tag; returns the bytes after the tag.
fn check_blob_header(blob: &[u8], kind: KeyKind, expected: usize) -> Result<&[u8], KeyFormatError> {
    if blob.len() != expected {
        return Err(KeyFormatError::Length {
            kind,
            expected,
            found: blob.len(),
        });
    }
    let mut rest = blob;
    match take::<2>(&mut rest) {
        Some(tag) if tag == ALGORITHM_ED25519 => Ok(rest),
        _ => Err(KeyFormatError::Algorithm { kind }),
    }
}

/// Takes the first `N` bytes off `bytes`, or `None` when fewer remain.
pub(super) fn take<const N: usize>(bytes: &mut &[u8]) -> Option<[u8; N]> {
    let (head, tail) = bytes.split_first_chunk::<N>()?;
    *bytes = tail;
    Some(*head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_is_the_fingerprint_prefix() {
        let secret = SecretKey::from_seed(&[7u8; 32]);
        let public = secret.public_key();
        assert!(public.fingerprint().starts_with(&public.key_id()));
        assert_eq!(public.key_id().len(), 16);
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let secret = SecretKey::from_seed(&[9u8; 32]);
        let shown = format!("{secret:?}");
        let text = secret.to_text();
        let encoded = text.lines().nth(1).unwrap_or_default();
        assert!(!shown.contains(encoded));
        assert!(shown.contains(&secret.public_key().key_id()));
    }
}
