//! Audits: expert review exactly where measured overlap may be illusory — along a bucket's weakest
//! direction, and in the quadrants of a feature pair the data may barely cover.
//!
//! Entry points: [`prepare_sample`] (analysis of the version, then a pure [`sampling::plan`]) and
//! [`record_sample`] (the sample and its review sheet, together or not at all); [`record_verdicts`]
//! (a filled sheet, validated completely, then written in one transaction); [`status`] and
//! [`audit_summaries`] (per-bucket evidence, under the counting rule [`status::PASS_RULE`]);
//! [`simulate_verdicts`] (a deterministic review panel for the demo). Sampling and the figures are
//! pure; this module reads and writes through `storage` only and never prints or exits.

pub mod sampling;
pub mod sheet;
pub mod simulate;
pub mod status;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use thiserror::Error;

pub use sampling::{
    Coverage, DEFAULT_SEED, KindCoverage, Plan, PlanOptions, RARE_SHARE, SamplingError, Selection,
    Strategy,
};
pub use sheet::{FilledRow, SheetFormat, SheetRow, SheetSide, read_sheet, write_sheet};
pub use simulate::{SimulatedReview, simulate_verdicts};
pub use status::{
    BucketAuditStatus, DEFAULT_MIN_PASS_RATE, PASS_RULE, PassRate, ReviewerAgreement,
};

use crate::analysis::{self, AnalysisError, direction_in_words};
use crate::ingest::{Problem, Problems};
use crate::model::Comparison;
use crate::model::analysis::{AnalysisParams, AuditSummary, FitMode, NoSuchBucket};
use crate::model::named::NamedValues;
use crate::storage::{
    AuditSampleRecord, EmitFailure, NewAuditItem, NewAuditSample, NewVerdict, StorageError, Store,
    VerdictRecord, VersionInfo,
};

#[derive(Debug, Error)]
pub enum AuditError {
    /// Problems in a filled review sheet, each with file, line and field.
    #[error("{0}")]
    Invalid(Problems),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(transparent)]
    Sampling(#[from] SamplingError),
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    NoSuchBucket(#[from] NoSuchBucket),
    #[error("cannot write the review sheet: {0}")]
    Output(#[source] std::io::Error),
}

/// The identifier of a recorded sample, shown and typed as `audit-N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuditId(pub i64);

impl fmt::Display for AuditId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "audit-{}", self.0)
    }
}

impl FromStr for AuditId {
    type Err = String;

    /// `audit-N` as written, or a bare `N` (a spreadsheet may keep only the number).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let digits = t.strip_prefix("audit-").unwrap_or(t);
        digits
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .map(AuditId)
            .ok_or_else(|| {
                format!("'{t}' is not an audit id: expected audit-N as the sampler wrote it")
            })
    }
}

/// What to sample (the library form of `overlap audit sample`).
#[derive(Debug, Clone, PartialEq)]
pub struct SampleRequest {
    pub bucket: String,
    /// K: comparisons drawn along the weakest direction.
    pub n: usize,
    pub seed: u64,
    pub strategy: Strategy,
    /// Feature pairs to probe with crossed and concordant comparisons.
    pub pairs: Vec<[String; 2]>,
    pub include_audited: bool,
    /// ρ and λ_I of the analysis that gives the weakest direction (pooled fit).
    pub ridge: f64,
    pub info_ridge: f64,
}

impl SampleRequest {
    /// `top`, the default seed, no probes, the default analysis (ridge 1e-4, info ridge 0).
    pub fn new(bucket: &str, n: usize) -> SampleRequest {
        SampleRequest {
            bucket: bucket.to_string(),
            n,
            seed: DEFAULT_SEED,
            strategy: Strategy::Top,
            pairs: Vec::new(),
            include_audited: false,
            ridge: 1e-4,
            info_ridge: 0.0,
        }
    }
}

/// Coverage of one probed feature pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeSummary {
    pub features: [String; 2],
    /// Asked of each kind: max(1, ⌊K/4⌋).
    pub requested: u64,
    pub crossed: KindCoverage,
    pub concordant: KindCoverage,
}

/// What a sample holds and why, as recorded with it and printed by `audit sample`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleSummary {
    /// Set once the sample is recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_id: Option<String>,
    /// `NAME@V`.
    pub dataset: String,
    pub digest: String,
    pub bucket: String,
    pub strategy: Strategy,
    pub seed: u64,
    pub requested: u64,
    pub include_audited: bool,
    /// The analysis the direction came from.
    pub params: AnalysisParams,
    pub direction: NamedValues,
    pub direction_words: String,
    /// Comparisons in the bucket.
    pub comparisons: u64,
    /// Skipped because an earlier sample of the version holds them.
    pub excluded_audited: u64,
    /// Orthogonal to the weakest direction: they cannot show anything about it.
    pub orthogonal: u64,
    /// Available to the weakest-direction draw.
    pub eligible: u64,
    /// Drawn along the weakest direction.
    pub drawn: u64,
    pub alignment_min: Option<f64>,
    pub alignment_max: Option<f64>,
    pub probes: Vec<ProbeSummary>,
    /// Rows of the review sheet (direction draws plus probes).
    pub rows: u64,
    /// Plain statements of gaps: too few comparisons along the direction, missing or rare kinds.
    pub findings: Vec<String>,
}

/// A sample ready to be recorded: the review sheet without its audit id, and the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedSample {
    pub summary: SampleSummary,
    /// Schema feature order (CSV columns).
    pub features: Vec<String>,
    pub rows: Vec<SheetRow>,
    /// Row key of each row's comparison, in row order.
    keys: Vec<i64>,
    pairs: Vec<Option<[String; 2]>>,
    version: VersionInfo,
}

/// A recorded sample with its sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedSample {
    pub audit_id: AuditId,
    pub summary: SampleSummary,
    pub rows: Vec<SheetRow>,
}

fn pair_indexes(
    info: &VersionInfo,
    pairs: &[[String; 2]],
) -> Result<Vec<(usize, usize)>, AuditError> {
    let schema = &info.schema;
    pairs
        .iter()
        .map(|[a, b]| {
            let find = |f: &str| {
                schema.index_of(f).ok_or_else(|| {
                    AuditError::Input(format!(
                        "--pair names feature '{f}', which is not in the schema of {} ({})",
                        info.label(),
                        schema.features.join(", ")
                    ))
                })
            };
            let (i, j) = (find(a)?, find(b)?);
            if i == j {
                return Err(AuditError::Input(format!(
                    "--pair {a}:{b} names the same feature twice"
                )));
            }
            Ok((i, j))
        })
        .collect()
}

fn sign(x: f64) -> &'static str {
    if x > 0.0 {
        "+"
    } else if x < 0.0 {
        "−"
    } else {
        "0"
    }
}

fn reason(
    item: &sampling::PlannedItem,
    strategy: Strategy,
    plan: &Plan,
    words: &str,
    features: &[String],
    delta: &[f64],
) -> String {
    match (item.selection, item.pair) {
        (Selection::WeakestDirection, _) => match strategy {
            Strategy::Top => format!(
                "rank {} of {} eligible by alignment {:.3} with the weakest direction ({words})",
                item.rank, plan.eligible, item.alignment
            ),
            Strategy::Weighted => format!(
                "draw {} with probability ∝ alignment² (alignment {:.3} with the weakest direction, {words})",
                item.rank, item.alignment
            ),
        },
        (kind, Some((i, j))) => {
            let (fi, fj) = (&features[i], &features[j]);
            let what = if kind == Selection::CrossedProbe {
                "crossed: a trade-off between the two"
            } else {
                "concordant: better or worse on both"
            };
            format!(
                "probe {} of {fi}:{fj} (Δ{fi} {}, Δ{fj} {}; {what})",
                item.rank,
                sign(delta[i]),
                sign(delta[j])
            )
        }
        (_, None) => String::new(),
    }
}

fn findings(summary: &SampleSummary) -> Vec<String> {
    let mut out = Vec::new();
    let b = &summary.bucket;
    if summary.drawn < summary.requested {
        out.push(format!(
            "only {} of the {} comparisons of {b} could be drawn along the weakest direction ({} already audited, {} orthogonal to it): the sample holds {} instead of {}",
            summary.eligible,
            summary.comparisons,
            summary.excluded_audited,
            summary.orthogonal,
            summary.drawn,
            summary.requested
        ));
    }
    for p in &summary.probes {
        let [fi, fj] = &p.features;
        for (kind, cov, meaning) in [
            (
                "crossed",
                &p.crossed,
                format!("Δ{fi} and Δ{fj} with opposite signs"),
            ),
            (
                "concordant",
                &p.concordant,
                format!("Δ{fi} and Δ{fj} with the same sign"),
            ),
        ] {
            match cov.coverage {
                Coverage::Missing => out.push(format!(
                    "no {kind} {fi}:{fj} comparison in {b}: the data never shows {meaning}, so that part of the trade-off can be neither audited nor learned"
                )),
                Coverage::Rare => out.push(format!(
                    "{kind} {fi}:{fj} comparisons are rare in {b}: {} of the {} that move both ({:.1}%)",
                    cov.in_bucket,
                    p.crossed.in_bucket + p.concordant.in_bucket,
                    100.0 * cov.share.unwrap_or(0.0)
                )),
                Coverage::Covered => {}
            }
            if cov.in_bucket > 0 && cov.drawn < p.requested {
                out.push(format!(
                    "only {} {kind} {fi}:{fj} comparison{} could be drawn of the {} asked ({} in {b}, the rest already audited or drawn)",
                    cov.drawn,
                    if cov.drawn == 1 { "" } else { "s" },
                    p.requested,
                    cov.in_bucket
                ));
            }
        }
    }
    out
}

/// Computes the weakest direction of the bucket and draws the plan; writes nothing.
pub fn prepare_sample(
    store: &Store,
    info: &VersionInfo,
    req: &SampleRequest,
) -> Result<PreparedSample, AuditError> {
    if req.n == 0 {
        return Err(SamplingError::EmptySample.into());
    }
    let pair_idx = pair_indexes(info, &req.pairs)?;
    let data = store.version_data(info)?;
    let keys = store.comparison_keys(info)?;
    if keys.len() != data.len() {
        return Err(StorageError::Corrupt(format!(
            "{} has {} comparison rows but {} rows of data",
            info.label(),
            keys.len(),
            data.len()
        ))
        .into());
    }
    let Some(b) = data.buckets.iter().position(|x| *x == req.bucket) else {
        return Err(NoSuchBucket::new(
            info.label(),
            &req.bucket,
            data.buckets.iter().map(String::as_str),
        )
        .into());
    };
    let params = AnalysisParams {
        ridge: req.ridge,
        info_ridge: req.info_ridge,
        fit: FitMode::Pooled,
        pairs: Vec::new(),
        scopes: Vec::new(),
    };
    let registry = analysis::service::registry_view(store)?;
    let analyzed = analysis::analyze(info, &data, &registry, &params)?;
    let bucket = analyzed
        .analysis
        .buckets
        .iter()
        .find(|x| x.bucket == req.bucket)
        .ok_or_else(|| {
            StorageError::Corrupt(format!("the analysis lost bucket '{}'", req.bucket))
        })?;
    let features = info.schema.features.clone();
    let direction = bucket.weakest_direction_in(&features);
    let words = direction_in_words(&features, &direction);

    let audited = store.audited_comparisons(info)?;
    let x = analysis::standardize(&data, &info.schema.scales);
    let d = data.d;
    let rows_in: Vec<usize> = (0..data.len())
        .filter(|&t| data.bucket[t] as usize == b)
        .collect();
    let candidates = sampling::Candidates {
        ids: rows_in.iter().map(|&t| keys[t].1.clone()).collect(),
        d,
        rows: rows_in
            .iter()
            .flat_map(|&t| x[t * d..(t + 1) * d].iter().copied())
            .collect(),
        audited: rows_in
            .iter()
            .map(|&t| audited.contains(&keys[t].0))
            .collect(),
    };
    let opts = PlanOptions {
        n: req.n,
        seed: req.seed,
        strategy: req.strategy,
        pairs: pair_idx,
        include_audited: req.include_audited,
    };
    let plan = sampling::plan(&candidates, &direction, &opts)?;

    // The selected rows in full (prompt, texts, sides), read in one pass.
    let wanted: HashSet<&str> = plan
        .items
        .iter()
        .map(|i| candidates.ids[i.candidate].as_str())
        .collect();
    let mut full: HashMap<String, Comparison> = HashMap::new();
    store.for_each_comparison::<StorageError>(info, |c| {
        if wanted.contains(c.id.as_str()) {
            full.insert(c.id.clone(), c);
        }
        Ok(())
    })?;
    let named = |v: &[f64]| NamedValues(features.iter().cloned().zip(v.iter().copied()).collect());
    let label = info.label();
    let mut rows = Vec::with_capacity(plan.items.len());
    let mut row_keys = Vec::with_capacity(plan.items.len());
    let mut row_pairs = Vec::with_capacity(plan.items.len());
    for item in &plan.items {
        let cid = &candidates.ids[item.candidate];
        let c = full.get(cid).ok_or_else(|| {
            StorageError::Corrupt(format!("comparison '{cid}' vanished while sampling"))
        })?;
        let delta = c.values.delta();
        let (fa, fb) = match &c.values {
            crate::model::FeatureValues::Sides { a, b } => (Some(named(a)), Some(named(b))),
            crate::model::FeatureValues::Delta(_) => (None, None),
        };
        rows.push(SheetRow {
            audit_id: String::new(),
            dataset: label.clone(),
            comparison_id: cid.clone(),
            bucket: req.bucket.clone(),
            selected_by: item.selection,
            rank: item.rank as u64,
            alignment: item.alignment,
            reason: reason(item, req.strategy, &plan, &words, &features, &delta),
            prompt: c.prompt.clone(),
            a: SheetSide {
                intervention: c.a_intervention.clone(),
                text: c.a_text.clone(),
                features: fa,
            },
            b: SheetSide {
                intervention: c.b_intervention.clone(),
                text: c.b_text.clone(),
                features: fb,
            },
            delta: named(&delta),
            reviewer: None,
            meaningful: None,
            on_policy: None,
            note: None,
        });
        row_keys.push(keys[rows_in[item.candidate]].0);
        row_pairs.push(
            item.pair
                .map(|(i, j)| [features[i].clone(), features[j].clone()]),
        );
    }
    let along: Vec<f64> = plan
        .items
        .iter()
        .filter(|i| i.selection == Selection::WeakestDirection)
        .map(|i| i.alignment)
        .collect();
    let mut summary = SampleSummary {
        audit_id: None,
        dataset: label,
        digest: info.digest.clone(),
        bucket: req.bucket.clone(),
        strategy: req.strategy,
        seed: req.seed,
        requested: req.n as u64,
        include_audited: req.include_audited,
        params,
        direction: bucket.weakest_direction.clone(),
        direction_words: words,
        comparisons: candidates.len() as u64,
        excluded_audited: plan.excluded_audited as u64,
        orthogonal: plan.orthogonal as u64,
        eligible: plan.eligible as u64,
        drawn: along.len() as u64,
        alignment_min: along.iter().copied().reduce(f64::min),
        alignment_max: along.iter().copied().reduce(f64::max),
        probes: plan
            .probes
            .iter()
            .map(|p| ProbeSummary {
                features: [features[p.pair.0].clone(), features[p.pair.1].clone()],
                requested: p.requested as u64,
                crossed: p.crossed.clone(),
                concordant: p.concordant.clone(),
            })
            .collect(),
        rows: rows.len() as u64,
        findings: Vec::new(),
    };
    summary.findings = findings(&summary);
    Ok(PreparedSample {
        summary,
        features,
        rows,
        keys: row_keys,
        pairs: row_pairs,
        version: info.clone(),
    })
}

/// Records a prepared sample and, in the same transaction, hands its sheet (audit ids filled in)
/// to `emit`; when `emit` fails nothing is recorded.
pub fn record_sample(
    store: &mut Store,
    prepared: PreparedSample,
    now: &str,
    actor: &str,
    emit: impl FnOnce(&[SheetRow]) -> std::io::Result<()>,
) -> Result<RecordedSample, AuditError> {
    let PreparedSample {
        mut summary,
        rows,
        keys,
        pairs,
        version,
        ..
    } = prepared;
    let items: Vec<NewAuditItem<'_>> = rows
        .iter()
        .zip(&keys)
        .zip(&pairs)
        .map(|((row, key), pair)| NewAuditItem {
            comparison: *key,
            selected_by: row.selected_by.as_str(),
            ordinal: row.rank,
            alignment: row.alignment,
            pair: pair.as_ref(),
        })
        .collect();
    let summary_json =
        serde_json::to_value(&summary).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    let pair_list: Vec<[String; 2]> = summary.probes.iter().map(|p| p.features.clone()).collect();
    let new = NewAuditSample {
        version: &version,
        bucket: &summary.bucket,
        strategy: summary.strategy.as_str(),
        seed: summary.seed,
        requested: summary.requested,
        include_audited: summary.include_audited,
        direction: &summary.direction,
        params: &summary.params,
        pairs: &pair_list,
        summary: &summary_json,
        items: &items,
        tool_version: crate::TOOL_VERSION,
        now,
        actor,
    };
    let mut filled: Vec<SheetRow> = Vec::new();
    let result = store.record_audit_sample(&new, |id| {
        let audit_id = AuditId(id).to_string();
        filled = rows
            .iter()
            .cloned()
            .map(|mut r| {
                r.audit_id = audit_id.clone();
                r
            })
            .collect();
        emit(&filled)
    });
    let id = match result {
        Ok(id) => AuditId(id),
        Err(EmitFailure::Emit(e)) => return Err(AuditError::Output(e)),
        Err(EmitFailure::Storage(e)) => return Err(e.into()),
    };
    summary.audit_id = Some(id.to_string());
    Ok(RecordedSample {
        audit_id: id,
        summary,
        rows: filled,
    })
}

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

/// One recorded sample of a version, as `audit status` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleListing {
    pub audit_id: String,
    pub bucket: String,
    pub strategy: String,
    pub seed: u64,
    pub requested: u64,
    pub items: u64,
    /// Verdicts recorded on its comparisons through this sample.
    pub verdicts: u64,
    pub direction: NamedValues,
    pub pairs: Vec<[String; 2]>,
    pub created_at: String,
    pub created_by: String,
}

/// The audit evidence of a version (`overlap audit status`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditStatus {
    pub dataset: String,
    pub version: u32,
    pub digest: String,
    pub min_pass_rate: f64,
    pub pass_rule: &'static str,
    pub samples: Vec<SampleListing>,
    /// Every bucket of the version, sorted.
    pub buckets: Vec<BucketAuditStatus>,
}

/// Per-bucket audit evidence of a version. `min_pass_rate` ∈ [0, 1] sets the illusory-overlap flag.
pub fn status(
    store: &Store,
    info: &VersionInfo,
    min_pass_rate: f64,
) -> Result<AuditStatus, AuditError> {
    if !(min_pass_rate.is_finite() && (0.0..=1.0).contains(&min_pass_rate)) {
        return Err(AuditError::Input(format!(
            "--min-pass-rate must be between 0 and 1, found {min_pass_rate}"
        )));
    }
    let buckets = store.version_buckets(info)?;
    let items = store.audit_items(info)?;
    let verdicts = store.audit_verdicts(info)?;
    let observations: Vec<status::ItemObservation> = items
        .iter()
        .map(|i| status::ItemObservation {
            comparison: i.comparison,
            bucket: i.bucket.clone(),
            along_direction: i.selected_by == Selection::WeakestDirection.as_str(),
        })
        .collect();
    let judged: Vec<status::VerdictObservation> = verdicts
        .iter()
        .map(|v| status::VerdictObservation {
            comparison: v.comparison,
            reviewer: v.reviewer.clone(),
            meaningful: v.meaningful,
            on_policy: v.on_policy,
        })
        .collect();
    let mut per_sample: BTreeMap<i64, u64> = BTreeMap::new();
    for v in &verdicts {
        *per_sample.entry(v.sample_id).or_default() += 1;
    }
    let samples = store
        .audit_samples(info)?
        .into_iter()
        .map(|s| SampleListing {
            audit_id: AuditId(s.id).to_string(),
            verdicts: per_sample.get(&s.id).copied().unwrap_or(0),
            bucket: s.bucket,
            strategy: s.strategy,
            seed: s.seed,
            requested: s.requested,
            items: s.items,
            direction: s.direction,
            pairs: s.pairs,
            created_at: s.created_at,
            created_by: s.created_by,
        })
        .collect();
    Ok(AuditStatus {
        dataset: info.dataset.clone(),
        version: info.version,
        digest: info.digest.clone(),
        min_pass_rate,
        pass_rule: PASS_RULE,
        samples,
        buckets: status::summarize(&buckets, &observations, &judged, min_pass_rate),
    })
}

/// The audit evidence of every bucket of a version, as the gate and reports read it
/// (`audit_pass_rate` of DESIGN §2 under [`PASS_RULE`]); buckets without verdicts have
/// `audited: 0` and no rate.
pub fn audit_summaries(store: &Store, info: &VersionInfo) -> Result<Vec<AuditSummary>, AuditError> {
    Ok(status(store, info, DEFAULT_MIN_PASS_RATE)?
        .buckets
        .into_iter()
        .map(|b| AuditSummary {
            bucket: b.bucket,
            audited: b.overall.audited,
            pass_rate: b.overall.pass_rate,
            wilson_low: b.overall.wilson_low,
            wilson_high: b.overall.wilson_high,
            along_direction_audited: b.along_direction.audited,
            along_direction_pass_rate: b.along_direction.pass_rate,
            min_pass_rate: DEFAULT_MIN_PASS_RATE,
            illusory_overlap: b.illusory_overlap,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_ids_round_trip() {
        assert_eq!("audit-7".parse::<AuditId>(), Ok(AuditId(7)));
        assert_eq!(" 7 ".parse::<AuditId>(), Ok(AuditId(7)));
        assert_eq!(AuditId(7).to_string(), "audit-7");
        assert!("audit-0".parse::<AuditId>().is_err());
        assert!("audit-x".parse::<AuditId>().is_err());
        assert!("a-7".parse::<AuditId>().is_err());
    }
}
