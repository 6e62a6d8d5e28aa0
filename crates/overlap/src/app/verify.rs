//! Verifying what the store holds (DESIGN §4 revision 2): a dataset version's rows reproduce its
//! digest and its columnar chunks (what analyses read) match its rows; the registry's chain is
//! intact and its current state is what its events say; every recorded analysis, evaluation, audit
//! verdict, plan and report record matches its binding. Read-only: nothing here writes.

use serde::Serialize;

use crate::model::VersionInfo;
use crate::model::dataset::NO_GROUP;
use crate::model::digest::ContentHasher;
use crate::model::{Comparison, DatasetRef};
use crate::storage::{BrokenResult, ChainBreak, StateBreak, StorageError, Store};

/// The outcome of checking one dataset version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionCheck {
    /// `name@V`.
    pub version: String,
    pub digest: String,
    pub rows_checked: u64,
    /// The first thing that does not match; `None` when the version verifies.
    pub problem: Option<String>,
}

impl VersionCheck {
    pub fn intact(&self) -> bool {
        self.problem.is_none()
    }
}

/// Checks one version: its rows hash to its digest, their number is the recorded one, and row by
/// row the columnar chunks hold the same label, bucket, arm, group and Δφ (bit for bit).
pub fn verify_version(store: &Store, info: &VersionInfo) -> Result<VersionCheck, StorageError> {
    let mut check = VersionCheck {
        version: info.label(),
        digest: info.digest.clone(),
        rows_checked: 0,
        problem: None,
    };
    let data = match store.version_data(info) {
        Ok(data) => data,
        Err(StorageError::Corrupt(reason)) => {
            check.problem = Some(format!("its columnar data cannot be read: {reason}"));
            return Ok(check);
        }
        Err(e) => return Err(e),
    };
    let mut hasher = ContentHasher::new();
    let mut delta = Vec::new();
    let mut first: Option<String> = None;
    let mut i = 0usize;
    store.for_each_comparison(info, |c: Comparison| -> Result<(), StorageError> {
        hasher.add_row(&c);
        if first.is_none() {
            first = row_mismatch(&data, i, &c, &mut delta);
        }
        i += 1;
        Ok(())
    })?;
    check.rows_checked = i as u64;
    check.problem = if i as u64 != info.n {
        Some(format!("it should have {} rows but has {i}", info.n))
    } else if data.len() != i {
        Some(format!(
            "its columnar data has {} rows, its rows {i}",
            data.len()
        ))
    } else if let Some(m) = first {
        Some(m)
    } else {
        let digest = hasher.finish(&info.schema);
        (digest != info.digest).then(|| {
            format!(
                "its rows hash to {digest}, not to its digest {}",
                info.digest
            )
        })
    };
    Ok(check)
}

/// Why row `i` of the columnar data differs from the stored comparison, if it does.
fn row_mismatch(
    data: &crate::model::dataset::VersionData,
    i: usize,
    c: &Comparison,
    delta: &mut Vec<f64>,
) -> Option<String> {
    if i >= data.len() {
        return Some(format!(
            "row {} ('{}') is missing from the columnar data",
            i + 1,
            c.id
        ));
    }
    let field = |name: &str| {
        Some(format!(
            "row {} ('{}'): the columnar {name} differs from the row",
            i + 1,
            c.id
        ))
    };
    let name = |names: &[String], idx: u32| names.get(idx as usize).cloned();
    if data.labels[i] != c.label {
        return field("label");
    }
    if name(&data.buckets, data.bucket[i]).as_deref() != Some(c.bucket.as_str()) {
        return field("bucket");
    }
    if name(&data.arms, data.arm[i]).as_deref() != Some(c.arm().as_str()) {
        return field("arm");
    }
    let group = (data.group[i] != NO_GROUP)
        .then(|| name(&data.groups, data.group[i]))
        .flatten();
    if group != c.group {
        return field("group");
    }
    c.values.delta_into(delta);
    let stored = &data.delta[i * data.d..(i + 1) * data.d];
    let same = delta.len() == stored.len()
        && delta
            .iter()
            .zip(stored)
            .all(|(a, b)| a.to_bits() == b.to_bits());
    if !same {
        return field("Δφ");
    }
    None
}

/// Every version `r` names: `NAME@V` one, `NAME` all of them (oldest first).
pub fn verify_dataset(store: &Store, r: &DatasetRef) -> Result<Vec<VersionCheck>, StorageError> {
    let versions = match r.version {
        Some(_) => vec![store.resolve(r)?],
        None => store.versions(r.name.as_str())?,
    };
    versions.iter().map(|v| verify_version(store, v)).collect()
}

/// Everything `store verify` checked, and the first fact that does not verify.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreCheck {
    pub registry_events: u64,
    pub registry_head: String,
    pub chain_break: Option<ChainBreak>,
    pub state_break: Option<StateBreak>,
    pub versions: Vec<VersionCheck>,
    pub analyses: u64,
    pub evaluations: u64,
    pub verdicts: u64,
    pub plans: u64,
    pub reports: u64,
    /// Results recorded before bindings existed: never reused, listed so nobody mistakes them
    /// for verified.
    pub unbound_results: u64,
    pub broken_results: Vec<BrokenResult>,
}

impl StoreCheck {
    pub fn intact(&self) -> bool {
        self.first_broken().is_none()
    }

    /// The first broken fact in the order checked: the chain, the registry state, the versions,
    /// the recorded results.
    pub fn first_broken(&self) -> Option<String> {
        if let Some(b) = &self.chain_break {
            return Some(format!("registry event {}: {}", b.seq, b.reason));
        }
        if let Some(b) = &self.state_break {
            return Some(format!("intervention '{}': {}", b.subject, b.reason));
        }
        if let Some(v) = self.versions.iter().find(|v| !v.intact()) {
            return Some(format!(
                "dataset {}: {}",
                v.version,
                v.problem.as_deref().unwrap_or_default()
            ));
        }
        self.broken_results
            .first()
            .map(|b| format!("{} {} of {}: {}", b.kind, b.id, b.version, b.reason))
    }
}

/// Verifies the whole store. `progress` is called once per dataset version checked.
pub fn verify_store(
    store: &Store,
    mut progress: impl FnMut(&VersionInfo),
) -> Result<StoreCheck, StorageError> {
    let (registry_events, chain_break) = store.verify_registry()?;
    let state_break = store.verify_registry_state()?;
    let mut versions = Vec::new();
    for dataset in store.datasets()? {
        for info in store.versions(&dataset.name)? {
            progress(&info);
            versions.push(verify_version(store, &info)?);
        }
    }
    let results = store.verify_results()?;
    Ok(StoreCheck {
        registry_events,
        registry_head: store.registry_head()?,
        chain_break,
        state_break,
        versions,
        analyses: results.analyses,
        evaluations: results.evaluations,
        verdicts: results.verdicts,
        plans: results.plans,
        reports: results.reports,
        unbound_results: results.unbound,
        broken_results: results.broken,
    })
}

/// A signed checkpoint of the registry's chain as it is now. Refused when the chain does not
/// verify: a checkpoint vouches for a history, so it must not vouch for a broken one.
pub fn registry_checkpoint(
    store: &Store,
    key: &crate::report::signing::SecretKey,
) -> Result<String, crate::app::AppError> {
    let (events, broken) = store.verify_registry()?;
    if let Some(b) = broken {
        return Err(crate::app::AppError::Invalid(format!(
            "the registry chain is broken at event {} ({}): no checkpoint is signed for a broken history",
            b.seq, b.reason
        )));
    }
    Ok(crate::report::signing::sign_checkpoint(
        events,
        &store.registry_head()?,
        key,
    ))
}

/// Compares a signed checkpoint with the store's chain: the signature must verify with
/// `public_key_text`, and the chain must still hold the checkpoint's event N with the checkpoint's
/// hash (later events may follow). `Ok(Some(problem))` when it does not; an unreadable public key
/// is an error.
pub fn check_checkpoint(
    store: &Store,
    checkpoint_text: &str,
    public_key_text: &str,
) -> Result<Option<String>, crate::app::AppError> {
    use crate::report::signing::{VerifyError, parse_public_key, verify_checkpoint};
    let public = parse_public_key(public_key_text)
        .map_err(|e| crate::app::AppError::Invalid(format!("the public key: {e}")))?;
    let checkpoint = match verify_checkpoint(checkpoint_text, &public) {
        Ok(c) => c,
        Err(VerifyError::PublicKey(e)) => {
            return Err(crate::app::AppError::Invalid(format!(
                "the public key: {e}"
            )));
        }
        Err(e) => return Ok(Some(e.to_string())),
    };
    if checkpoint.events == 0 {
        return Ok(None);
    }
    let events = store.registry_events()?;
    let problem = match events.get(checkpoint.events as usize - 1) {
        None => Some(format!(
            "the checkpoint covers {} events but the registry holds {}: history was truncated",
            checkpoint.events,
            events.len()
        )),
        Some(e) if e.hash != checkpoint.head => Some(format!(
            "event {} has hash {}, but the checkpoint recorded {}: history was rewritten",
            checkpoint.events, e.hash, checkpoint.head
        )),
        Some(_) => None,
    };
    Ok(problem)
}
