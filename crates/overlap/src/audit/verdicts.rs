//! Recording reviewers' verdicts from a filled review sheet: every row validated against the
//! recorded sample (audit id, comparison, reviewer, values) before one transaction writes them;
//! identical re-submissions are skipped, differing ones refused (verdicts are append-only).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::ingest::{Problem, Problems};
use crate::storage::{AuditSampleRecord, NewVerdict, Store, VerdictRecord};

use super::sheet::{FilledRow, SheetFormat, read_sheet};
use super::{AuditError, AuditId};

/// Verdicts recorded from one file, per audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditCount {
    pub audit_id: String,
    pub recorded: u64,
}

/// What `record_verdicts` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordReport {
    pub file: String,
    pub recorded: u64,
    /// Identical verdicts already recorded (a sheet returned twice): skipped.
    pub already_recorded: u64,
    /// Rows whose `meaningful` and `on_policy` are both empty: skipped.
    pub skipped_empty: u64,
    /// Their lines (all of them, in file order).
    pub skipped_lines: Vec<u64>,
    pub audits: Vec<AuditCount>,
}

/// A validated verdict waiting for the transaction.
struct Accepted {
    sample: i64,
    comparison: i64,
    reviewer: String,
    meaningful: bool,
    on_policy: bool,
    note: Option<String>,
    line: u64,
}

struct LoadedAudit {
    label: String,
    dataset: String,
    items: HashMap<String, i64>,
    existing: HashMap<(i64, String), VerdictRecord>,
}

fn load_audit(store: &Store, record: AuditSampleRecord) -> Result<LoadedAudit, AuditError> {
    let items = store
        .audit_sample_items(record.id)?
        .into_iter()
        .map(|i| (i.cid, i.comparison))
        .collect();
    let existing = store
        .verdicts_on_sample_items(record.id)?
        .into_iter()
        .map(|v| ((v.comparison, v.reviewer.clone()), v))
        .collect();
    Ok(LoadedAudit {
        label: AuditId(record.id).to_string(),
        dataset: format!("{}@{}", record.dataset, record.version),
        items,
        existing,
    })
}

/// Validates every row of a filled sheet against the recorded samples and verdicts, then records
/// the verdicts in one transaction — or, with any problem, records nothing and returns them all.
///
/// A row names its reviewer, or `default_reviewer` (`--reviewer`) fills the gap; a row naming a
/// different reviewer than `--reviewer` is a problem. Rows with both verdict fields empty are
/// skipped and counted. A verdict identical to one already recorded (same reviewer, comparison,
/// values and note) is skipped as already recorded, so a sheet can be returned again once more of
/// it is filled in; a differing one is a problem (verdicts are append-only).
pub fn record_verdicts(
    store: &mut Store,
    file: &str,
    rows: Vec<FilledRow>,
    default_reviewer: Option<&str>,
    now: &str,
    actor: &str,
) -> Result<RecordReport, AuditError> {
    record_rows(
        store,
        file,
        rows,
        Problems::default(),
        default_reviewer,
        now,
        actor,
    )
}

/// Reads a filled review sheet (`.jsonl`/`.ndjson`/`.json` or `.csv`) and records its verdicts
/// like [`record_verdicts`]; syntax problems and validation problems are reported together.
pub fn record_sheet(
    store: &mut Store,
    path: &str,
    default_reviewer: Option<&str>,
    now: &str,
    actor: &str,
) -> Result<RecordReport, AuditError> {
    let format = SheetFormat::from_path(path).ok_or_else(|| {
        AuditError::Input(format!(
            "cannot tell the format of '{path}' from its name: expected a .jsonl or .csv review sheet"
        ))
    })?;
    let file = std::fs::File::open(path)
        .map_err(|e| AuditError::Input(format!("cannot read {path}: {e}")))?;
    let mut problems = Problems::default();
    let rows = read_sheet(path, format, file, &mut problems);
    record_rows(store, path, rows, problems, default_reviewer, now, actor)
}

fn record_rows(
    store: &mut Store,
    file: &str,
    rows: Vec<FilledRow>,
    mut problems: Problems,
    default_reviewer: Option<&str>,
    now: &str,
    actor: &str,
) -> Result<RecordReport, AuditError> {
    let default_reviewer = default_reviewer.map(str::trim).filter(|r| !r.is_empty());
    let mut audits: BTreeMap<i64, Option<LoadedAudit>> = BTreeMap::new();
    let mut seen: HashMap<(i64, String), u64> = HashMap::new();
    let mut accepted: Vec<Accepted> = Vec::new();
    let (mut already, mut skipped) = (0u64, Vec::new());
    for row in rows {
        let mut problem = |field: &str, message: String| {
            problems.push(Problem {
                file: file.to_string(),
                line: row.line,
                field: Some(field.to_string()),
                message,
            });
        };
        let id = match row.audit_id.parse::<AuditId>() {
            Ok(id) => id,
            Err(m) => {
                problem("audit_id", m);
                continue;
            }
        };
        if let std::collections::btree_map::Entry::Vacant(e) = audits.entry(id.0) {
            let loaded = match store.audit_sample(id.0)? {
                Some(record) => Some(load_audit(store, record)?),
                None => None,
            };
            e.insert(loaded);
        }
        let Some(Some(audit)) = audits.get(&id.0) else {
            problem(
                "audit_id",
                format!("no {id} in this database: was the sheet drawn from another one?"),
            );
            continue;
        };
        if let Some(ds) = &row.dataset
            && *ds != audit.dataset
        {
            problem(
                "dataset",
                format!("{id} was drawn from {}, not '{ds}'", audit.dataset),
            );
            continue;
        }
        let Some(&comparison) = audit.items.get(&row.comparison_id) else {
            problem(
                "comparison_id",
                format!(
                    "'{}' is not in {id} (it holds {} comparisons)",
                    row.comparison_id,
                    audit.items.len()
                ),
            );
            continue;
        };
        let (meaningful, on_policy) = match (row.meaningful, row.on_policy) {
            (None, None) => {
                skipped.push(row.line);
                continue;
            }
            (Some(_), None) => {
                problem(
                    "on_policy",
                    "empty while meaningful is filled: a verdict needs both".into(),
                );
                continue;
            }
            (None, Some(_)) => {
                problem(
                    "meaningful",
                    "empty while on_policy is filled: a verdict needs both".into(),
                );
                continue;
            }
            (Some(m), Some(p)) => (m, p),
        };
        let reviewer = match (row.reviewer.as_deref(), default_reviewer) {
            (Some(r), Some(d)) if r != d => {
                problem(
                    "reviewer",
                    format!("the row names '{r}' but --reviewer is '{d}'"),
                );
                continue;
            }
            (Some(r), _) | (None, Some(r)) => r.to_string(),
            (None, None) => {
                problem(
                    "reviewer",
                    "empty: fill in the reviewer column or pass --reviewer".into(),
                );
                continue;
            }
        };
        let key = (comparison, reviewer.clone());
        if let Some(first) = seen.get(&key) {
            problem(
                "reviewer",
                format!(
                    "'{reviewer}' judges '{}' a second time (first at line {first}): one verdict per reviewer and comparison",
                    row.comparison_id
                ),
            );
            continue;
        }
        seen.insert(key.clone(), row.line);
        if let Some(old) = audit.existing.get(&key) {
            if old.meaningful == meaningful && old.on_policy == on_policy && old.note == row.note {
                already += 1;
            } else {
                problem(
                    "reviewer",
                    format!(
                        "'{reviewer}' already has a verdict on '{}' (meaningful {}, on_policy {}, from {}:{} recorded {}); verdicts are append-only",
                        row.comparison_id,
                        old.meaningful,
                        old.on_policy,
                        old.source,
                        old.line,
                        old.recorded_at
                    ),
                );
            }
            continue;
        }
        accepted.push(Accepted {
            sample: id.0,
            comparison,
            reviewer,
            meaningful,
            on_policy,
            note: row.note,
            line: row.line,
        });
    }
    if !problems.is_empty() {
        // Syntax problems were collected before validation ones: show them in file order.
        problems.shown.sort_by_key(|p| p.line);
        return Err(AuditError::Invalid(problems));
    }
    // A sheet with nothing filled in is a mistake (the wrong file, or saved before filling),
    // not a successful recording of nothing.
    if accepted.is_empty() && already == 0 {
        return Err(AuditError::Input(if skipped.is_empty() {
            format!("{file} holds no review rows: nothing recorded")
        } else {
            format!(
                "{file} has no filled verdicts ({} row{} with empty meaningful and on_policy): fill them in and record the file again; nothing recorded",
                skipped.len(),
                if skipped.len() == 1 { "" } else { "s" }
            )
        }));
    }
    let verdicts: Vec<NewVerdict<'_>> = accepted
        .iter()
        .map(|a| NewVerdict {
            sample_id: a.sample,
            comparison: a.comparison,
            reviewer: &a.reviewer,
            meaningful: a.meaningful,
            on_policy: a.on_policy,
            note: a.note.as_deref(),
            source: file,
            line: a.line,
        })
        .collect();
    if !verdicts.is_empty() {
        store.record_verdicts(&verdicts, now, actor)?;
    }
    let mut per_audit: BTreeMap<i64, u64> = BTreeMap::new();
    for v in &verdicts {
        *per_audit.entry(v.sample_id).or_default() += 1;
    }
    Ok(RecordReport {
        file: file.to_string(),
        recorded: verdicts.len() as u64,
        already_recorded: already,
        skipped_empty: skipped.len() as u64,
        skipped_lines: skipped,
        audits: per_audit
            .into_iter()
            .map(|(id, recorded)| AuditCount {
                audit_id: audits
                    .get(&id)
                    .and_then(|a| a.as_ref())
                    .map_or_else(|| AuditId(id).to_string(), |a| a.label.clone()),
                recorded,
            })
            .collect(),
    })
}
