//! `overlap key generate` and `overlap verify`: Ed25519 keys and offline report verification.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::Outcome;
use super::output::{Format, print_json};
use overlap::report::signing;

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Make an Ed25519 key pair: PREFIX.key (secret, mode 0600, never printed) and PREFIX.pub.
    Generate {
        /// The key files' path without suffix: PREFIX.key (secret, mode 0600) and PREFIX.pub.
        #[arg(long, value_name = "PREFIX")]
        output: PathBuf,
        /// Overwrite existing key files.
        #[arg(long)]
        force: bool,
        /// Output: `human` (text for people) or `json`.
        #[arg(long, value_enum, default_value_t)]
        format: crate::output::Format,
    },
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The report file, a gate's test-result attestation (`gate --attest FILE`) or a registry
    /// checkpoint (`registry checkpoint`): the file says which.
    pub file: PathBuf,
    /// The signer's public key file (PREFIX.pub from `overlap key generate`).
    #[arg(long)]
    pub public_key: PathBuf,
    /// Detached signature (default: FILE.sig when it exists).
    #[arg(long)]
    pub signature: Option<PathBuf>,
    /// DSSE/in-toto attestation (default: FILE.intoto.json when it exists).
    #[arg(long)]
    pub attestation: Option<PathBuf>,
    /// Output: `human` (text for people) or `json`.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Writes `bytes` to `path` with exactly the given Unix mode (0600 for secrets). The content goes
/// into a file created fresh beside `path` (O_EXCL: never an existing file, never through a
/// symlink), its mode set explicitly (whatever the umask), synced, then renamed over `path`; so an
/// existing file's looser mode is never inherited and a symlink at `path` is replaced, not
/// followed. Without `force` an existing `path` (even a dangling symlink) is refused.
pub(crate) fn write_new(path: &Path, bytes: &[u8], mode: u32, force: bool) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if !force && std::fs::symlink_metadata(path).is_ok() {
        bail!(
            "{} already exists (pass --force to overwrite)",
            path.display()
        );
    }
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let mut staged_name = std::ffi::OsString::from(".");
    staged_name.push(name);
    staged_name.push(format!(".{}.tmp", std::process::id()));
    let staged = path.with_file_name(staged_name);
    let written = (|| -> Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&staged)
            .with_context(|| format!("cannot create {}", staged.display()))?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&staged, path)
            .with_context(|| format!("cannot move the new file into place at {}", path.display()))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&staged);
    }
    written
}

pub(crate) fn run_key(cmd: KeyCommand) -> Result<Outcome> {
    match cmd {
        KeyCommand::Generate {
            output,
            force,
            format,
        } => {
            let pair = signing::generate_key_pair()?;
            let secret = with_suffix(&output, ".key");
            let public = with_suffix(&output, ".pub");
            if !force {
                for p in [&secret, &public] {
                    if std::fs::symlink_metadata(p).is_ok() {
                        bail!("{} already exists (pass --force to overwrite)", p.display());
                    }
                }
            }
            write_new(&secret, pair.secret.to_text().as_bytes(), 0o600, force)?;
            write_new(&public, pair.public.to_text().as_bytes(), 0o644, force)?;
            match format {
                crate::output::Format::Json => crate::output::print_json(&serde_json::json!({
                    "secret_key": secret.display().to_string(),
                    "public_key": public.display().to_string(),
                    "fingerprint": pair.public.fingerprint(),
                }))?,
                crate::output::Format::Human => {
                    println!(
                        "wrote {} (secret, mode 0600) and {}",
                        secret.display(),
                        public.display()
                    );
                    println!("key fingerprint: {}", pair.public.fingerprint());
                }
            }
            Ok(Outcome::Success)
        }
    }
}

/// `overlap verify` of a registry checkpoint: its form and signature (whether the store still holds
/// that head is `registry verify --checkpoint`'s check). Any failure is exit 1.
fn verify_checkpoint_file(args: &VerifyArgs, text: &str) -> Result<Outcome> {
    let file = args.file.display().to_string();
    let result = read_text(&args.public_key, "public key").and_then(|key| {
        let public = signing::parse_public_key(&key).map_err(|e| e.to_string())?;
        signing::verify_checkpoint(text, &public)
            .map(|c| (c, public.fingerprint()))
            .map_err(|e| e.to_string())
    });
    let json = match &result {
        Ok((c, fingerprint)) => serde_json::json!({
            "valid": true,
            "file": file,
            "kind": "registry checkpoint",
            "events": c.events,
            "head": c.head,
            "signer_fingerprint": fingerprint,
            "checked": [format!("registry checkpoint {file}")],
            "error": null,
        }),
        Err(e) => serde_json::json!({
            "valid": false,
            "file": file,
            "kind": "registry checkpoint",
            "checked": [format!("registry checkpoint {file}")],
            "error": e,
        }),
    };
    match (args.format, &result) {
        (Format::Json, _) => print_json(&json)?,
        (Format::Human, Ok((c, fingerprint))) => {
            anstream::println!("{}", crate::color::lead(&format!("VERIFIED {file}")));
            println!(
                "  registry checkpoint: {} events, head {}",
                c.events, c.head
            );
            println!("  signer key:     {fingerprint}");
            println!(
                "  (`overlap registry verify --checkpoint {file} --public-key PUB` checks the store against it)"
            );
        }
        (Format::Human, Err(e)) => {
            anstream::println!(
                "{}",
                crate::color::lead(&format!("NOT VERIFIED {file}: {e}"))
            );
        }
    }
    Ok(if result.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}

/// `overlap verify` of a gate's test-result attestation: the envelope on its own (its subject is
/// the dataset version, not a file beside it). Any failure is a negative verdict (exit 1).
fn verify_gate_attestation(args: &VerifyArgs, text: &str) -> Result<Outcome> {
    let result = read_text(&args.public_key, "public key").and_then(|key| {
        let public = signing::parse_public_key(&key).map_err(|e| e.to_string())?;
        signing::verify_dataset_statement(
            &public,
            text,
            overlap::policy::test_result::TEST_RESULT_PREDICATE,
        )
        .map(|v| (v, public.fingerprint()))
        .map_err(|e| match e {
            signing::VerifyError::UnknownPredicateType(t)
                if signing::PredicateType::from_uri(&t).is_some() =>
            {
                "this is the attestation of a report: verify the report file it sits beside"
                    .to_string()
            }
            e => e.to_string(),
        })
    });
    let file = args.file.display().to_string();
    let (verified, error) = match result {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    };
    let report = VerifyReport {
        valid: verified.is_some(),
        file: file.clone(),
        file_sha256: None,
        dataset_digest: verified.as_ref().map(|(v, _)| v.dataset_digest.as_str()),
        policy_digest: verified
            .as_ref()
            .and_then(|(v, _)| v.predicate["configuration"][0]["digest"]["sha256"].as_str()),
        tool_version: None,
        signer_fingerprint: verified.as_ref().map(|(_, f)| f.as_str()),
        predicate_type: verified.as_ref().map(|(v, _)| v.predicate_type.clone()),
        predicate: verified.as_ref().map(|(v, _)| &v.predicate),
        checked: vec![format!("test-result attestation {file}")],
        error,
    };
    match args.format {
        Format::Json => print_json(&report)?,
        Format::Human => match (&report.error, &verified) {
            (None, Some((v, _))) => {
                anstream::println!("{}", crate::color::lead(&format!("VERIFIED {file}")));
                println!("  subject:        {}", v.dataset_subject);
                println!("  dataset digest: {}", v.dataset_digest);
                println!("  policy digest:  {}", report.policy_digest.unwrap_or("—"));
                println!(
                    "  result:         {}",
                    v.predicate["result"].as_str().unwrap_or("—")
                );
                println!(
                    "  signer key:     {}",
                    report.signer_fingerprint.unwrap_or("—")
                );
                println!("  predicate:      {}", v.predicate_type);
            }
            (e, _) => anstream::println!(
                "{}",
                crate::color::lead(&format!(
                    "NOT VERIFIED {file}: {}",
                    e.as_deref().unwrap_or("unverified")
                ))
            ),
        },
    }
    Ok(if report.valid {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}

#[derive(Serialize)]
struct VerifyReport<'a> {
    valid: bool,
    file: String,
    file_sha256: Option<&'a str>,
    dataset_digest: Option<&'a str>,
    policy_digest: Option<&'a str>,
    tool_version: Option<&'a str>,
    signer_fingerprint: Option<&'a str>,
    predicate_type: Option<String>,
    predicate: Option<&'a serde_json::Value>,
    checked: Vec<String>,
    error: Option<String>,
}

fn read_text(path: &Path, what: &str) -> std::result::Result<String, String> {
    std::fs::read(path)
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Verifies a report; every failure — including a missing or unreadable file — is a negative
/// verdict (exit 1), never a pass.
pub(crate) fn run_verify(args: VerifyArgs) -> Result<Outcome> {
    let mut checked = Vec::new();
    let standalone = std::fs::read(&args.file)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|text| signing::is_envelope(text));
    if let (Some(text), None, None) = (&standalone, &args.signature, &args.attestation) {
        return verify_gate_attestation(&args, text);
    }
    let checkpoint = std::fs::read_to_string(&args.file)
        .ok()
        .filter(|text| signing::is_checkpoint(text));
    if let (Some(text), None, None) = (&checkpoint, &args.signature, &args.attestation) {
        return verify_checkpoint_file(&args, text);
    }
    let result = (|| -> std::result::Result<signing::Verified, String> {
        let report = std::fs::read(&args.file)
            .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
        let key = read_text(&args.public_key, "public key")?;
        let sig_path = args.signature.clone().or_else(|| {
            let p = with_suffix(&args.file, ".sig");
            p.exists().then_some(p)
        });
        let att_path = args.attestation.clone().or_else(|| {
            let p = with_suffix(&args.file, ".intoto.json");
            p.exists().then_some(p)
        });
        let sig = sig_path
            .as_ref()
            .map(|p| read_text(p, "signature"))
            .transpose()?;
        let att = att_path
            .as_ref()
            .map(|p| read_text(p, "attestation"))
            .transpose()?;
        if let Some(p) = &sig_path {
            checked.push(format!("signature {}", p.display()));
        }
        if let Some(p) = &att_path {
            checked.push(format!("attestation {}", p.display()));
        }
        signing::verify(&report, &key, sig.as_deref(), att.as_deref()).map_err(|e| e.to_string())
    })();
    let (verified, error) = match result {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    };
    let report = VerifyReport {
        valid: verified.is_some(),
        file: args.file.display().to_string(),
        file_sha256: verified.as_ref().map(|v| v.report_sha256.as_str()),
        dataset_digest: verified.as_ref().map(|v| v.dataset_digest.as_str()),
        policy_digest: verified.as_ref().and_then(|v| v.policy_digest()),
        tool_version: verified.as_ref().and_then(|v| v.tool_version()),
        signer_fingerprint: verified.as_ref().map(|v| v.signer_fingerprint.as_str()),
        predicate_type: verified
            .as_ref()
            .and_then(|v| v.predicate_type())
            .map(|p| p.to_string()),
        predicate: verified.as_ref().and_then(|v| v.predicate()),
        checked,
        error,
    };
    match args.format {
        Format::Json => print_json(&report)?,
        Format::Human => match &report.error {
            None => {
                anstream::println!(
                    "{}",
                    crate::color::lead(&format!("VERIFIED {}", report.file))
                );
                println!("  checked:        {}", report.checked.join(", "));
                println!("  file sha256:    {}", report.file_sha256.unwrap_or("—"));
                println!("  dataset digest: {}", report.dataset_digest.unwrap_or("—"));
                println!("  policy digest:  {}", report.policy_digest.unwrap_or("—"));
                println!("  tool version:   {}", report.tool_version.unwrap_or("—"));
                println!(
                    "  signer key:     {}",
                    report.signer_fingerprint.unwrap_or("—")
                );
                if let Some(p) = &report.predicate_type {
                    println!("  predicate:      {p}");
                }
            }
            Some(e) => {
                anstream::println!(
                    "{}",
                    crate::color::lead(&format!("NOT VERIFIED {}: {e}", report.file))
                );
            }
        },
    }
    Ok(if report.valid {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}
